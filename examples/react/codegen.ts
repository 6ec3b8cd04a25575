// GraphQL Code Generator: typed documents for every operation in src/, from
// the service's committed schema, and a manifest of those operations
// (sha256 hash -> document) that the service can run as trusted documents
// (GRAPHQL_TRUSTED_DOCUMENTS). Run `npm run codegen` after changing an
// operation or the schema, and commit src/gql/: the test command checks it
// is up to date.
import type { CodegenConfig } from "@graphql-codegen/cli";
import { addTypenameSelectionDocumentTransform } from "@graphql-codegen/client-preset";

const config: CodegenConfig = {
  schema: "../../schema.graphqls",
  documents: ["src/**/*.{ts,tsx}", "!src/gql/**"],
  ignoreNoDocuments: false,
  generates: {
    "./src/gql/": {
      preset: "client",
      presetConfig: {
        fragmentMasking: false,
        persistedDocuments: { hashAlgorithm: "sha256", mode: "embedHashInDocument" },
      },
      config: {
        // Scalars as they travel in JSON.
        scalars: { DateTime: "string", FieldValue: "string | boolean" },
        enumsAsTypes: true,
        useTypeImports: true,
      },
      // Apollo Client adds __typename to every selection before sending; the
      // manifest holds the documents exactly as they are sent.
      documentTransforms: [addTypenameSelectionDocumentTransform],
    },
  },
};

export default config;
