-- CreateTable
CREATE TABLE "config_version" (
    "id" SMALLINT NOT NULL DEFAULT 1,
    "version" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "config_version_pkey" PRIMARY KEY ("id")
);


-- The one row, and the triggers that raise it and announce the change (delivered at commit)
INSERT INTO "config_version" ("id", "version") VALUES (1, 0);

-- Prisma's driver adapter splits a migration at every semicolon, so the function body writes them
-- as \073 (octal) inside an E'' string.
CREATE FUNCTION bump_config_version() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN UPDATE "config_version" SET "version" = "version" + 1 WHERE "id" = 1\073 PERFORM pg_notify(''app_config'', (SELECT "version"::text FROM "config_version" WHERE "id" = 1))\073 RETURN NULL\073 END';

CREATE TRIGGER audiences_config_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "audiences" FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER clients_config_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "clients" FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER scopes_config_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "scopes" FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER claims_config_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "claims" FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version();
