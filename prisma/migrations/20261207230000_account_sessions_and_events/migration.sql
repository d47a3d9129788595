-- CreateTable
CREATE TABLE "account_sessions" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "login_session_id" TEXT,
    "app_session_id" VARCHAR,
    "user_agent" TEXT NOT NULL,
    "ip_prefix" TEXT NOT NULL,
    "remembered_until" TIMESTAMPTZ(3),
    "signed_in_at" TIMESTAMPTZ(3) NOT NULL,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "account_sessions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "account_events" (
    "id" BIGSERIAL NOT NULL,
    "user_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "detail" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "account_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "account_sessions_login_session_id_key" ON "account_sessions"("login_session_id");

-- CreateIndex
CREATE INDEX "account_sessions_user_id_idx" ON "account_sessions"("user_id");

-- CreateIndex
CREATE INDEX "account_sessions_app_session_id_idx" ON "account_sessions"("app_session_id");

-- CreateIndex
CREATE INDEX "account_events_user_id_created_at_idx" ON "account_events"("user_id", "created_at");

-- CreateIndex
CREATE INDEX "account_events_created_at_idx" ON "account_events"("created_at");

-- AddForeignKey
ALTER TABLE "account_sessions" ADD CONSTRAINT "account_sessions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "account_events" ADD CONSTRAINT "account_events_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

