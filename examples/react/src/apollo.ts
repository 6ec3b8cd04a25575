import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import { SetContextLink } from "@apollo/client/link/context";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import type { DocumentNode } from "graphql";
import manifest from "./gql/persisted-documents.json";
import { config } from "./config";

// The operations GraphQL Code Generator wrote to the manifest, by operation
// name: each is sent as its manifest hash (Apollo's persisted-query
// protocol) and, when the service asks for it, as the manifest's exact text,
// so the service can run it from a trusted-documents manifest
// (GRAPHQL_TRUSTED_DOCUMENTS) or register it as an automatic persisted query.
const byOperation = new Map<string, { hash: string; text: string }>();
for (const [key, text] of Object.entries(manifest as Record<string, string>)) {
  const name = /\b(?:query|mutation|subscription)\s+(\w+)/.exec(text)?.[1];
  if (name) byOperation.set(name, { hash: key.replace(/^sha256:/, ""), text });
}

function manifestEntry(doc: DocumentNode) {
  const op = doc.definitions.find((d) => d.kind === "OperationDefinition");
  const name = op && "name" in op ? op.name?.value : undefined;
  const entry = name ? byOperation.get(name) : undefined;
  if (!entry) throw new Error(`operation ${name ?? "(anonymous)"} is not in src/gql/persisted-documents.json: run npm run codegen`);
  return entry;
}

export function createClient(getToken: () => Promise<string | undefined>) {
  const auth = new SetContextLink(async (prev) => {
    const token = await getToken();
    return token ? { headers: { ...prev.headers, authorization: `Bearer ${token}` } } : {};
  });
  const persisted = new PersistedQueryLink({ generateHash: (doc) => manifestEntry(doc).hash });
  const http = new HttpLink({
    uri: config.graphqlUrl,
    print: (ast, print) => (ast.kind === "Document" ? manifestEntry(ast as DocumentNode).text : print(ast)),
  });
  return new ApolloClient({
    link: ApolloLink.from([auth, persisted, http]),
    cache: new InMemoryCache(),
    defaultOptions: { watchQuery: { fetchPolicy: "cache-and-network" } },
  });
}
