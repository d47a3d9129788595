import { dropDatabase } from "./pg";

export default async function globalTeardown(): Promise<void> {
  for (const name of [process.env.TEST_APP_DB_TEMPLATE, process.env.TEST_HYDRA_DB_TEMPLATE]) {
    if (name) await dropDatabase(name);
  }
}
