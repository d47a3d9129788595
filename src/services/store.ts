// The store lives in src/store/ (one file per table family); this module hands it on to the
// importers of services/store until they import src/store/ themselves.
export * from "../store";
