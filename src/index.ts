// What other code (app teams' resource servers, tools) may import from this package.
export { requireToken, type RequireTokenOptions, type TokenAuth } from "./resource-server/require-token";
export { judgeToken, type TokenVerdict, type Introspection } from "./resource-server/judge";
export { parseAppConfig, loadAppConfigFile, type AppConfig } from "./config/audiences";
