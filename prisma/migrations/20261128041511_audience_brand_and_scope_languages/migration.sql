-- AlterTable
ALTER TABLE "audiences" ADD COLUMN     "brand_logo" TEXT,
ADD COLUMN     "brand_name" TEXT;

-- AlterTable
ALTER TABLE "scopes" ADD COLUMN     "descriptions" JSONB;

