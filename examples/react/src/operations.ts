// Every operation the app runs. GraphQL Code Generator turns each into a
// typed document in src/gql/ and an entry of src/gql/persisted-documents.json.
import { graphql } from "./gql";

// What to ask now, with everything needed to render each input.
export const PromptQuery = graphql(`
  query Prompt($context: String) {
    viewer {
      id
      email
      stage
      completion
      pendingFields(context: $context) {
        ...FieldDescriptor
      }
    }
  }
`);

export const FieldDescriptorFragment = graphql(`
  fragment FieldDescriptor on ProfileField {
    key
    label
    type
    required
    options {
      value
      label
    }
    placeholder
    minLength
    maxLength
    stage
    reason
  }
`);

export const AnswerMutation = graphql(`
  mutation Answer($input: UpdateProfileInput!) {
    updateProfile(input: $input) {
      viewer {
        id
        completion
      }
      pendingFields {
        ...FieldDescriptor
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`);

export const NotNowMutation = graphql(`
  mutation NotNow($keys: [String!]!, $context: String) {
    skipFields(input: { keys: $keys, context: $context }) {
      pendingFields {
        ...FieldDescriptor
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`);

export const ProfileQuery = graphql(`
  query Profile {
    viewer {
      id
      email
      name
      stage
      completion
      loginsCount
      fields {
        key
        label
        type
        known
        value
        source
        collectedAt
        collectedInStage
        collectedInContext
      }
    }
  }
`);
