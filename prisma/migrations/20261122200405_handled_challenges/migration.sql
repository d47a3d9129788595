-- CreateTable
CREATE TABLE "handled_challenges" (
    "hash" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "handled_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "handled_challenges_pkey" PRIMARY KEY ("hash")
);

-- CreateIndex
CREATE INDEX "handled_challenges_handled_at_idx" ON "handled_challenges"("handled_at");

