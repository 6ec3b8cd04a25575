import { useQuery } from "@apollo/client/react";
import { ProfileQuery } from "./operations";

const sourceLabel: Record<string, string> = {
  IDENTITY_PROVIDER: "from your sign-in provider",
  USER: "you told us",
  ENRICHMENT: "from an enrichment service",
};

// Everything the profile holds, with where each value came from and when
// this service collected it.
export function ProfilePage() {
  const { data, error } = useQuery(ProfileQuery, { fetchPolicy: "network-only" });
  if (error) return <p role="alert">Could not load your profile: {error.message}</p>;
  const viewer = data?.viewer;
  if (!viewer) return <p>Loading…</p>;
  return (
    <section>
      <h1>Your profile</h1>
      <p>
        {viewer.email} · stage <span data-testid="stage">{viewer.stage ?? "none"}</span> · {Math.round(viewer.completion * 100)}% complete
      </p>
      <table data-testid="profile-fields">
        <thead>
          <tr><th>Field</th><th>Value</th><th>Source</th><th>Collected</th></tr>
        </thead>
        <tbody>
          {viewer.fields.map((f) => (
            <tr key={f.key} data-field={f.key}>
              <td>{f.label}</td>
              <td data-col="value">{f.known ? String(f.value) : "—"}</td>
              <td data-col="source" data-source={f.source ?? ""}>{f.source ? sourceLabel[f.source] ?? f.source : ""}</td>
              <td data-col="collectedAt">
                {f.collectedAt ? (
                  <time dateTime={f.collectedAt}>
                    {new Date(f.collectedAt).toLocaleString()}
                    {f.collectedInContext ? ` (${f.collectedInContext})` : ""}
                  </time>
                ) : ""}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
