/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query Prompt($context: String) {\n    viewer {\n      id\n      email\n      stage\n      completion\n      pendingFields(context: $context) {\n        ...FieldDescriptor\n      }\n    }\n  }\n": typeof types.PromptDocument,
    "\n  fragment FieldDescriptor on ProfileField {\n    key\n    label\n    type\n    required\n    options {\n      value\n      label\n    }\n    placeholder\n    minLength\n    maxLength\n    stage\n    reason\n  }\n": typeof types.FieldDescriptorFragmentDoc,
    "\n  mutation Answer($input: UpdateProfileInput!) {\n    updateProfile(input: $input) {\n      viewer {\n        id\n        completion\n      }\n      pendingFields {\n        ...FieldDescriptor\n      }\n      userErrors {\n        field\n        message\n        code\n      }\n    }\n  }\n": typeof types.AnswerDocument,
    "\n  mutation NotNow($keys: [String!]!, $context: String) {\n    skipFields(input: { keys: $keys, context: $context }) {\n      pendingFields {\n        ...FieldDescriptor\n      }\n      userErrors {\n        field\n        message\n        code\n      }\n    }\n  }\n": typeof types.NotNowDocument,
    "\n  query Profile {\n    viewer {\n      id\n      email\n      name\n      stage\n      completion\n      loginsCount\n      fields {\n        key\n        label\n        type\n        known\n        value\n        source\n        collectedAt\n        collectedInStage\n        collectedInContext\n      }\n    }\n  }\n": typeof types.ProfileDocument,
};
const documents: Documents = {
    "\n  query Prompt($context: String) {\n    viewer {\n      id\n      email\n      stage\n      completion\n      pendingFields(context: $context) {\n        ...FieldDescriptor\n      }\n    }\n  }\n": types.PromptDocument,
    "\n  fragment FieldDescriptor on ProfileField {\n    key\n    label\n    type\n    required\n    options {\n      value\n      label\n    }\n    placeholder\n    minLength\n    maxLength\n    stage\n    reason\n  }\n": types.FieldDescriptorFragmentDoc,
    "\n  mutation Answer($input: UpdateProfileInput!) {\n    updateProfile(input: $input) {\n      viewer {\n        id\n        completion\n      }\n      pendingFields {\n        ...FieldDescriptor\n      }\n      userErrors {\n        field\n        message\n        code\n      }\n    }\n  }\n": types.AnswerDocument,
    "\n  mutation NotNow($keys: [String!]!, $context: String) {\n    skipFields(input: { keys: $keys, context: $context }) {\n      pendingFields {\n        ...FieldDescriptor\n      }\n      userErrors {\n        field\n        message\n        code\n      }\n    }\n  }\n": types.NotNowDocument,
    "\n  query Profile {\n    viewer {\n      id\n      email\n      name\n      stage\n      completion\n      loginsCount\n      fields {\n        key\n        label\n        type\n        known\n        value\n        source\n        collectedAt\n        collectedInStage\n        collectedInContext\n      }\n    }\n  }\n": types.ProfileDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Prompt($context: String) {\n    viewer {\n      id\n      email\n      stage\n      completion\n      pendingFields(context: $context) {\n        ...FieldDescriptor\n      }\n    }\n  }\n"): (typeof documents)["\n  query Prompt($context: String) {\n    viewer {\n      id\n      email\n      stage\n      completion\n      pendingFields(context: $context) {\n        ...FieldDescriptor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment FieldDescriptor on ProfileField {\n    key\n    label\n    type\n    required\n    options {\n      value\n      label\n    }\n    placeholder\n    minLength\n    maxLength\n    stage\n    reason\n  }\n"): (typeof documents)["\n  fragment FieldDescriptor on ProfileField {\n    key\n    label\n    type\n    required\n    options {\n      value\n      label\n    }\n    placeholder\n    minLength\n    maxLength\n    stage\n    reason\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Answer($input: UpdateProfileInput!) {\n    updateProfile(input: $input) {\n      viewer {\n        id\n        completion\n      }\n      pendingFields {\n        ...FieldDescriptor\n      }\n      userErrors {\n        field\n        message\n        code\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation Answer($input: UpdateProfileInput!) {\n    updateProfile(input: $input) {\n      viewer {\n        id\n        completion\n      }\n      pendingFields {\n        ...FieldDescriptor\n      }\n      userErrors {\n        field\n        message\n        code\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation NotNow($keys: [String!]!, $context: String) {\n    skipFields(input: { keys: $keys, context: $context }) {\n      pendingFields {\n        ...FieldDescriptor\n      }\n      userErrors {\n        field\n        message\n        code\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation NotNow($keys: [String!]!, $context: String) {\n    skipFields(input: { keys: $keys, context: $context }) {\n      pendingFields {\n        ...FieldDescriptor\n      }\n      userErrors {\n        field\n        message\n        code\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Profile {\n    viewer {\n      id\n      email\n      name\n      stage\n      completion\n      loginsCount\n      fields {\n        key\n        label\n        type\n        known\n        value\n        source\n        collectedAt\n        collectedInStage\n        collectedInContext\n      }\n    }\n  }\n"): (typeof documents)["\n  query Profile {\n    viewer {\n      id\n      email\n      name\n      stage\n      completion\n      loginsCount\n      fields {\n        key\n        label\n        type\n        known\n        value\n        source\n        collectedAt\n        collectedInStage\n        collectedInContext\n      }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;