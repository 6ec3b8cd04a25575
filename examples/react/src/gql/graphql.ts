/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/**
 * One answer by field key. Send text for TEXT, PHONE and SELECT fields, bool
 * for BOOLEAN fields (the other is WRONG_TYPE); send neither to clear the
 * answer, as null does for a typed field.
 */
export type AnswerInput = {
  /** The answer to a BOOLEAN field. */
  bool?: boolean | null | undefined;
  /** The field's key, as in ProfileField.key. */
  key: string;
  /** The answer to a TEXT, PHONE or SELECT field. */
  text?: string | null | undefined;
};

/** The kind of input a field takes; clients pick a widget from it. */
export type FieldType =
  /** A yes/no choice; answer with a Boolean. */
  | 'BOOLEAN'
  /** A phone number; answers are normalised to E.164 (+14155550123). */
  | 'PHONE'
  /** One of the field's options; answer with the option's value. */
  | 'SELECT'
  /** Free text on one line. */
  | 'TEXT';

/**
 * Answers to save. Each field is one profile answer: leave it out to keep the
 * current answer, send null to clear it. Any catalogue field, typed here or
 * not, can also be answered by key in answers.
 */
export type UpdateProfileInput = {
  /**
   * Answers by field key, for any catalogue field (a field the rules file adds
   * needs no schema change): [{key: "industry", text: "retail"},
   * {key: "subscribed", bool: true}]. Validated exactly as the typed fields are.
   * A field answered here and as a typed field, or twice here, is refused
   * (DUPLICATE_ANSWER).
   */
  answers?: Array<AnswerInput> | null | undefined;
  /** Company. */
  company?: string | null | undefined;
  /**
   * Where the answers were given, e.g. "article". Recorded with each answer and
   * used to compute the next pendingFields.
   */
  context?: string | null | undefined;
  /** First name. */
  firstName?: string | null | undefined;
  /** Last name. */
  lastName?: string | null | undefined;
  /** Phone number; with a country code (+44 ...) unless the rules set a default region. */
  phone?: string | null | undefined;
  /** Whether the user wants the newsletter. */
  subscribed?: boolean | null | undefined;
  /** Job title. */
  title?: string | null | undefined;
};

/** Why an input field was refused. */
export type UserErrorCode =
  /** The same field is answered twice in one input (typed and in answers, or twice in answers). */
  | 'DUPLICATE_ANSWER'
  /** The answer contains control or invisible formatting characters. */
  | 'INVALID_CHARACTERS'
  /** The answer is not a valid phone number. */
  | 'INVALID_PHONE'
  /** The answer is not one of the field's options. */
  | 'NOT_AN_OPTION'
  /** The field is required and cannot be empty or cleared. */
  | 'REQUIRED'
  /** The answer is longer than the field's maximum length. */
  | 'TOO_LONG'
  /** The answer is shorter than the field's minimum length. */
  | 'TOO_SHORT'
  /** There is no such field in the profile catalogue. */
  | 'UNKNOWN_FIELD'
  /** The answer has the wrong type for the field. */
  | 'WRONG_TYPE';

/** Where a known profile value came from. */
export type ValueSource =
  /** Supplied by an enrichment service. */
  | 'ENRICHMENT'
  /** Supplied by a social or enterprise identity provider at sign-in. */
  | 'IDENTITY_PROVIDER'
  /** Answered by the user. */
  | 'USER';

export type PromptQueryVariables = Exact<{
  context?: string | null | undefined;
}>;


export type PromptQuery = { __typename: 'Query', viewer: { __typename: 'Viewer', id: string, email: string | null, stage: string | null, completion: number, pendingFields: Array<{ __typename: 'ProfileField', key: string, label: string, type: FieldType, required: boolean, placeholder: string | null, minLength: number | null, maxLength: number | null, stage: string, reason: string, options: Array<{ __typename: 'FieldOption', value: string, label: string }> }> } | null };

export type FieldDescriptorFragment = { __typename: 'ProfileField', key: string, label: string, type: FieldType, required: boolean, placeholder: string | null, minLength: number | null, maxLength: number | null, stage: string, reason: string, options: Array<{ __typename: 'FieldOption', value: string, label: string }> };

export type AnswerMutationVariables = Exact<{
  input: UpdateProfileInput;
}>;


export type AnswerMutation = { __typename: 'Mutation', updateProfile: { __typename: 'UpdateProfilePayload', viewer: { __typename: 'Viewer', id: string, completion: number } | null, pendingFields: Array<{ __typename: 'ProfileField', key: string, label: string, type: FieldType, required: boolean, placeholder: string | null, minLength: number | null, maxLength: number | null, stage: string, reason: string, options: Array<{ __typename: 'FieldOption', value: string, label: string }> }>, userErrors: Array<{ __typename: 'UserError', field: Array<string>, message: string, code: UserErrorCode }> } };

export type NotNowMutationVariables = Exact<{
  keys: Array<string> | string;
  context?: string | null | undefined;
}>;


export type NotNowMutation = { __typename: 'Mutation', skipFields: { __typename: 'SkipFieldsPayload', pendingFields: Array<{ __typename: 'ProfileField', key: string, label: string, type: FieldType, required: boolean, placeholder: string | null, minLength: number | null, maxLength: number | null, stage: string, reason: string, options: Array<{ __typename: 'FieldOption', value: string, label: string }> }>, userErrors: Array<{ __typename: 'UserError', field: Array<string>, message: string, code: UserErrorCode }> } };

export type ProfileQueryVariables = Exact<{ [key: string]: never; }>;


export type ProfileQuery = { __typename: 'Query', viewer: { __typename: 'Viewer', id: string, email: string | null, name: string | null, stage: string | null, completion: number, loginsCount: number, fields: Array<{ __typename: 'ProfileValue', key: string, label: string, type: FieldType, known: boolean, value: string | boolean | null, source: ValueSource | null, collectedAt: string | null, collectedInStage: string | null, collectedInContext: string | null }> } | null };

export const FieldDescriptorFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"FieldDescriptor"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ProfileField"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"label"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"required"}},{"kind":"Field","name":{"kind":"Name","value":"options"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"label"}}]}},{"kind":"Field","name":{"kind":"Name","value":"placeholder"}},{"kind":"Field","name":{"kind":"Name","value":"minLength"}},{"kind":"Field","name":{"kind":"Name","value":"maxLength"}},{"kind":"Field","name":{"kind":"Name","value":"stage"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}}]}}]} as unknown as DocumentNode<FieldDescriptorFragment, unknown>;
export const PromptDocument = {"__meta__":{"hash":"sha256:93f0940e9d9692ec0a3f4c0b5c760d24cf783004f4987af7524fe74ee517261d"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Prompt"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"context"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"Field","name":{"kind":"Name","value":"viewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"email"}},{"kind":"Field","name":{"kind":"Name","value":"stage"}},{"kind":"Field","name":{"kind":"Name","value":"completion"}},{"kind":"Field","name":{"kind":"Name","value":"pendingFields"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"context"},"value":{"kind":"Variable","name":{"kind":"Name","value":"context"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"FieldDescriptor"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"FieldDescriptor"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ProfileField"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"label"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"required"}},{"kind":"Field","name":{"kind":"Name","value":"options"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"label"}}]}},{"kind":"Field","name":{"kind":"Name","value":"placeholder"}},{"kind":"Field","name":{"kind":"Name","value":"minLength"}},{"kind":"Field","name":{"kind":"Name","value":"maxLength"}},{"kind":"Field","name":{"kind":"Name","value":"stage"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}}]}}]} as unknown as DocumentNode<PromptQuery, PromptQueryVariables>;
export const AnswerDocument = {"__meta__":{"hash":"sha256:f46d1a0ccb331f5c956820cea6e94437c58a6f4754beb426f7a71e6f65095752"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"Answer"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UpdateProfileInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"Field","name":{"kind":"Name","value":"updateProfile"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"Field","name":{"kind":"Name","value":"viewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"completion"}}]}},{"kind":"Field","name":{"kind":"Name","value":"pendingFields"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"FieldDescriptor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"userErrors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"Field","name":{"kind":"Name","value":"field"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"code"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"FieldDescriptor"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ProfileField"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"label"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"required"}},{"kind":"Field","name":{"kind":"Name","value":"options"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"label"}}]}},{"kind":"Field","name":{"kind":"Name","value":"placeholder"}},{"kind":"Field","name":{"kind":"Name","value":"minLength"}},{"kind":"Field","name":{"kind":"Name","value":"maxLength"}},{"kind":"Field","name":{"kind":"Name","value":"stage"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}}]}}]} as unknown as DocumentNode<AnswerMutation, AnswerMutationVariables>;
export const NotNowDocument = {"__meta__":{"hash":"sha256:e6587ea55a06ff5fa56ea28ada547f08ece63c280137a0e99ffa0b1c1a9a3775"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"NotNow"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"keys"}},"type":{"kind":"NonNullType","type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"context"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"Field","name":{"kind":"Name","value":"skipFields"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"ObjectValue","fields":[{"kind":"ObjectField","name":{"kind":"Name","value":"keys"},"value":{"kind":"Variable","name":{"kind":"Name","value":"keys"}}},{"kind":"ObjectField","name":{"kind":"Name","value":"context"},"value":{"kind":"Variable","name":{"kind":"Name","value":"context"}}}]}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"Field","name":{"kind":"Name","value":"pendingFields"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"FragmentSpread","name":{"kind":"Name","value":"FieldDescriptor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"userErrors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"Field","name":{"kind":"Name","value":"field"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"code"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"FieldDescriptor"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ProfileField"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"label"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"required"}},{"kind":"Field","name":{"kind":"Name","value":"options"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"label"}}]}},{"kind":"Field","name":{"kind":"Name","value":"placeholder"}},{"kind":"Field","name":{"kind":"Name","value":"minLength"}},{"kind":"Field","name":{"kind":"Name","value":"maxLength"}},{"kind":"Field","name":{"kind":"Name","value":"stage"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}}]}}]} as unknown as DocumentNode<NotNowMutation, NotNowMutationVariables>;
export const ProfileDocument = {"__meta__":{"hash":"sha256:65c25d75fb14b3f020c6bab19357ffb9d86b673307f3caf246da93c94bf86ec6"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Profile"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"Field","name":{"kind":"Name","value":"viewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"email"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"stage"}},{"kind":"Field","name":{"kind":"Name","value":"completion"}},{"kind":"Field","name":{"kind":"Name","value":"loginsCount"}},{"kind":"Field","name":{"kind":"Name","value":"fields"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"label"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"known"}},{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"source"}},{"kind":"Field","name":{"kind":"Name","value":"collectedAt"}},{"kind":"Field","name":{"kind":"Name","value":"collectedInStage"}},{"kind":"Field","name":{"kind":"Name","value":"collectedInContext"}}]}}]}}]}}]} as unknown as DocumentNode<ProfileQuery, ProfileQueryVariables>;