import path from "node:path";

export const ROOT = path.resolve(__dirname, "..", "..");
export const HYDRA_BIN = process.env.HYDRA_BIN ?? path.join(ROOT, ".bin", "hydra");
export const HYDRA_CONFIG = path.join(ROOT, "hydra", "hydra.yml");
