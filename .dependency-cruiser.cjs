// The layers of src/ and the one direction of their imports (docs/architecture.md):
//   server.ts, app.ts → routes/ → flows/ → decisions/ and services/ → store/
// with middleware/ beside routes/, admin/ (the commands) beside them, and config/, i18n.ts, errors.ts,
// logger.ts and paths.ts underneath everything. test/unit/dependencies.test.ts runs these rules.
/** A rule that files under `from` import nothing under any of `to`. */
const never = (name, comment, from, to) => ({ name, comment, severity: "error", from: { path: from }, to: { path: to } });

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: "no-circular", comment: "Files that import each other cannot be understood (or moved) one at a time.", severity: "error", from: {}, to: { circular: true } },
    never("decisions-are-pure", "Decisions are pure functions: no I/O, no framework, nothing above them.", "^src/decisions/", "^src/(services|store|flows|routes|middleware|admin|app|server)"),
    never("store-is-the-bottom", "The store holds the SQL; services and everything above use it, never the reverse.", "^src/store/", "^src/(services|flows|routes|middleware|admin|app|server)"),
    never("services-below-flows", "A service wraps one outside system; the use cases that combine them live in flows/.", "^src/services/", "^src/(flows|routes|middleware|admin|app|server)"),
    never("flows-below-routes", "A use case takes plain inputs: it knows no route, no middleware, no command.", "^src/flows/", "^src/(routes|middleware|admin|app|server)"),
    never("routes-not-commands", "Pages and admin commands share flows, never each other.", "^src/routes/", "^src/(admin|app|server)"),
    never("commands-not-routes", "Pages and admin commands share flows, never each other.", "^src/admin/", "^src/(routes|middleware|app|server)"),
    never("middleware-below-routes", "Middleware serves every route and knows none of them.", "^src/middleware/", "^src/(routes|flows|admin|app|server)"),
    never("config-at-the-base", "Settings and the configuration file are read by everything above them.", "^src/config/", "^src/(services|store|flows|routes|middleware|admin|app|server)"),
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^src/generated/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
  },
};
