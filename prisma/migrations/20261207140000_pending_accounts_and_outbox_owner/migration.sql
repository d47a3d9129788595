-- Accounts made by self sign-up whose address is not confirmed yet complete no sign-in, and are
-- deleted after a while (users.pending_since). Accounts that exist already keep working as before.
ALTER TABLE "users" ADD COLUMN "pending_since" TIMESTAMP(3);
CREATE INDEX "users_pending_since_idx" ON "users"("pending_since");

-- Mail belongs to the account it is about, so deleting the account deletes its mail with it.
ALTER TABLE "outbox" ADD COLUMN "user_id" UUID;
ALTER TABLE "outbox" ADD CONSTRAINT "outbox_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
CREATE INDEX "outbox_user_id_idx" ON "outbox"("user_id");

-- Mail already sent keeps no usable secret: links and codes are dropped from its data.
UPDATE "outbox" SET "data" = '{}' WHERE "sent_at" IS NOT NULL OR "attempts" >= 40;
