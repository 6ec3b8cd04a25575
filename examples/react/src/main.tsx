import { StrictMode, useMemo } from "react";
import { createRoot } from "react-dom/client";
import { Auth0Provider, useAuth0 } from "@auth0/auth0-react";
import { ApolloProvider } from "@apollo/client/react";
import { App } from "./App";
import { createClient } from "./apollo";
import { config } from "./config";
import { navigate } from "./router";

// Apollo Client asks Auth0's SDK for the access token on every request;
// the SDK renews it silently (hidden iframe, prompt=none) when needed.
function WithApollo() {
  const { getAccessTokenSilently, isAuthenticated } = useAuth0();
  const client = useMemo(
    () => createClient(async () => (isAuthenticated ? getAccessTokenSilently() : undefined)),
    [getAccessTokenSilently, isAuthenticated],
  );
  return (
    <ApolloProvider client={client}>
      <App />
    </ApolloProvider>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <Auth0Provider
      domain={config.auth0Domain}
      clientId={config.auth0ClientId}
      authorizationParams={{
        redirect_uri: window.location.origin,
        audience: config.audience,
        scope: "openid profile email",
      }}
      onRedirectCallback={(appState) => navigate(appState?.returnTo ?? "/", true)}
    >
      <WithApollo />
    </Auth0Provider>
  </StrictMode>,
);
