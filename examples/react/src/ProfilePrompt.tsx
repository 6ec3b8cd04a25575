import { useState } from "react";
import { useMutation, useQuery } from "@apollo/client/react";
import { AnswerMutation, NotNowMutation, PromptQuery } from "./operations";
import type { FieldDescriptorFragment, UpdateProfileInput } from "./gql/graphql";

type Answer = string | boolean;

// Asks what the service says to ask now. Every input is built from its
// descriptor (label, type, options, placeholder, length limits, reason); no
// field is known to this code by name, so the rules file can change the
// catalogue without a release of the app.
export function ProfilePrompt({ context }: { context?: string }) {
  const { data, loading, error } = useQuery(PromptQuery, { variables: { context } });
  // What to ask next, as the last mutation's payload said; null: the query's.
  const [next, setNext] = useState<FieldDescriptorFragment[] | null>(null);
  const [answers, setAnswers] = useState<Record<string, Answer>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);
  const [answer, answering] = useMutation(AnswerMutation);
  const [skip, skipping] = useMutation(NotNowMutation);

  if (error) return <p role="alert">Could not load your profile: {error.message}</p>;
  if (loading && !data) return <p>Loading…</p>;
  const fields = next ?? data?.viewer?.pendingFields ?? [];
  if (fields.length === 0) {
    return <p data-testid="prompt-done">{saved ? "Thanks, saved." : "Nothing to ask right now."}</p>;
  }

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    // Only what the user answered: an absent field is left untouched.
    const input: Record<string, Answer> = {};
    for (const f of fields) {
      if (f.type === "BOOLEAN") input[f.key] = answers[f.key] === true;
      else if (typeof answers[f.key] === "string" && answers[f.key] !== "") input[f.key] = answers[f.key];
    }
    if (context) input.context = context;
    const { data } = await answer({ variables: { input: input as UpdateProfileInput } });
    const payload = data?.updateProfile;
    if (!payload) return;
    const byKey: Record<string, string> = {};
    for (const ue of payload.userErrors) byKey[ue.field[ue.field.length - 1]] = ue.message;
    setErrors(byKey);
    if (payload.userErrors.length === 0) {
      setSaved(true);
      setAnswers({});
      setNext(payload.pendingFields);
    }
  }

  async function notNow(keys: string[]) {
    const { data } = await skip({ variables: { keys, context } });
    const payload = data?.skipFields;
    if (payload && payload.userErrors.length === 0) {
      setErrors({});
      setNext(payload.pendingFields);
    }
  }

  return (
    <form onSubmit={submit} aria-label="A few questions" data-testid="prompt">
      <h2>A few questions</h2>
      {fields.map((f) => (
        <div key={f.key} style={{ margin: "1rem 0" }} data-field={f.key}>
          <label htmlFor={`field-${f.key}`}>{f.label}</label> <small data-testid="reason">{f.reason}</small>
          <div>
            <FieldInput field={f} value={answers[f.key]} onChange={(v) => setAnswers({ ...answers, [f.key]: v })} invalid={!!errors[f.key]} />
            <button type="button" aria-label={`Not now: ${f.label}`} onClick={() => notNow([f.key])} disabled={skipping.loading}>
              Not now
            </button>
          </div>
          {errors[f.key] && (
            <span role="alert" id={`error-${f.key}`} style={{ color: "crimson" }}>
              {errors[f.key]}
            </span>
          )}
        </div>
      ))}
      <button type="submit" disabled={answering.loading}>Save</button>{" "}
      <button type="button" onClick={() => notNow(fields.map((f) => f.key))} disabled={skipping.loading}>
        Not now
      </button>
    </form>
  );
}

function FieldInput({ field: f, value, onChange, invalid }: {
  field: FieldDescriptorFragment;
  value: Answer | undefined;
  onChange: (v: Answer) => void;
  invalid: boolean;
}) {
  const common = {
    id: `field-${f.key}`,
    name: f.key,
    "aria-invalid": invalid,
    "aria-describedby": invalid ? `error-${f.key}` : undefined,
  };
  switch (f.type) {
    case "BOOLEAN":
      return <input type="checkbox" {...common} checked={value === true} onChange={(e) => onChange(e.target.checked)} />;
    case "SELECT":
      return (
        <select {...common} value={typeof value === "string" ? value : ""} onChange={(e) => onChange(e.target.value)}>
          <option value="" disabled>Choose…</option>
          {f.options.map((o) => (
            <option key={o.value} value={o.value}>{o.label}</option>
          ))}
        </select>
      );
    default:
      // The service validates every answer; these attributes only help the
      // browser (and a screen reader) say what is expected. The length limits
      // are not enforced here (no minLength/required), so the service's
      // userErrors are what the user sees.
      return (
        <input
          type={f.type === "PHONE" ? "tel" : "text"}
          {...common}
          placeholder={f.placeholder ?? undefined}
          maxLength={f.maxLength ?? undefined}
          data-min-length={f.minLength ?? undefined}
          value={typeof value === "string" ? value : ""}
          onChange={(e) => onChange(e.target.value)}
        />
      );
  }
}
