-- AlterTable
ALTER TABLE "consents" ADD COLUMN     "client_ids" TEXT[] DEFAULT ARRAY[]::TEXT[];

