// Where the app finds the service and its Auth0 tenant. The defaults are dev
// mode's (`go run .` in the repository root); set VITE_* variables for
// another deployment, e.g. VITE_AUTH0_DOMAIN=tenant.eu.auth0.com.
const env = import.meta.env;

export const config = {
  auth0Domain: env.VITE_AUTH0_DOMAIN ?? "http://127.0.0.1:8081",
  auth0ClientId: env.VITE_AUTH0_CLIENT_ID ?? "dev-client",
  audience: env.VITE_AUTH0_AUDIENCE ?? "https://profiling-bff.local/api",
  graphqlUrl: env.VITE_GRAPHQL_URL ?? "http://127.0.0.1:8080/graphql",
};
