/* Error paths: NULL pointers, a missing plan file, invalid WKB, bad levels, indices out of
 * range, totals of an assessment without values. argv[1] is a path that does not exist,
 * argv[2] a valid config naming a land-cover file that does not exist.
 * Exits 0 when every check passes. */
#include "gep.h"

#include <stdio.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n",      \
                    __FILE__, __LINE__, #cond, gep_last_error());              \
            failures++;                                                        \
        }                                                                      \
    } while (0)

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    const char *missing = argv[1];
    const char *no_raster = argv[2];
    GepAssessment *a = (GepAssessment *)&failures; /* not NULL: calls must clear it */

    /* NULL pointers. */
    CHECK(gep_run_plan(NULL, &a) == GEP_ERR_BAD_ARGUMENT && a == NULL);
    CHECK(strstr(gep_last_error(), "config_path is NULL") != NULL);
    CHECK(gep_run_plan(missing, NULL) == GEP_ERR_BAD_ARGUMENT);
    CHECK(gep_assess_memory(NULL, NULL, NULL, NULL, 2019, &a) == GEP_ERR_BAD_ARGUMENT);
    CHECK(strstr(gep_last_error(), "raster is NULL") != NULL);
    GepTotals t;
    CHECK(gep_assessment_totals(NULL, &t) == GEP_ERR_BAD_ARGUMENT);
    CHECK(strstr(gep_last_error(), "assessment is NULL") != NULL);
    CHECK(gep_assessment_row_count(NULL) == 0);
    gep_assessment_free(NULL);

    /* A missing plan file: a plan error naming the file. */
    a = (GepAssessment *)&failures;
    CHECK(gep_run_plan(missing, &a) == GEP_ERR_PLAN && a == NULL);
    CHECK(strstr(gep_last_error(), missing) != NULL);

    /* A valid plan whose land-cover file is missing: an input error naming it. */
    CHECK(gep_run_plan(no_raster, &a) == GEP_ERR_INVALID_INPUT && a == NULL);
    CHECK(strstr(gep_last_error(), "missing-landcover.tif") != NULL);

    /* One 30 m cell of forest, and a zone whose WKB is cut short. */
    int32_t cell = 2;
    GepRaster raster = {.classes = &cell, .rows = 1, .cols = 1, .left = 0, .top = 30,
                        .cell_width = 30, .cell_height = 30, .crs = GEP_CRS_PROJECTED};
    uint8_t bad[] = {1, 3, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 0};
    const uint8_t *wkb[1] = {bad};
    size_t wkb_len[1] = {sizeof bad};
    const char *ids[1] = {"331123"};
    GepZones zones = {.count = 1, .wkb = wkb, .wkb_len = wkb_len, .ids = ids};
    CHECK(gep_assess_memory(&raster, &zones, "xie2015", "modis-igbp-mcd12c1", 2019, &a) == GEP_ERR_INVALID_INPUT);
    CHECK(a == NULL);
    CHECK(strstr(gep_last_error(), "invalid WKB") != NULL && strstr(gep_last_error(), "331123") != NULL);

    /* The same zone with a valid square, then with a level that does not exist. */
    double ring[10] = {0, 0, 30, 0, 30, 30, 0, 30, 0, 0};
    uint8_t square[93];
    uint16_t one = 1;
    memcpy(square, &one, 1); /* host byte order: 1 on little-endian machines */
    uint32_t header[3] = {3, 1, 5};
    memcpy(square + 1, header, 12);
    memcpy(square + 13, ring, 80);
    wkb[0] = square;
    wkb_len[0] = sizeof square;
    int levels[1] = {7};
    zones.levels = levels;
    CHECK(gep_assess_memory(&raster, &zones, NULL, NULL, 2019, &a) == GEP_ERR_BAD_ARGUMENT);
    CHECK(strstr(gep_last_error(), "levels[0] is 7") != NULL);
    zones.levels = NULL;

    /* An unknown coefficient set. */
    CHECK(gep_assess_memory(&raster, &zones, "no-such-set", NULL, 2019, &a) == GEP_ERR_INVALID_INPUT);
    CHECK(strstr(gep_last_error(), "no-such-set") != NULL);

    /* Extent only: no totals, no rows; indices out of range. */
    CHECK(gep_assess_memory(&raster, &zones, NULL, NULL, 2019, &a) == GEP_OK && a != NULL);
    CHECK(gep_assessment_totals(a, &t) == GEP_ERR_NOT_VALUED);
    CHECK(gep_assessment_totals(a, NULL) == GEP_ERR_NOT_VALUED);
    CHECK(gep_assessment_row_count(a) == 0);
    GepZone z;
    CHECK(gep_assessment_zone(a, 0, &z) == GEP_OK && z.covered_m2 == 900.0);
    CHECK(z.gep_yuan != z.gep_yuan); /* NaN */
    CHECK(gep_assessment_zone(a, 0, NULL) == GEP_ERR_BAD_ARGUMENT);
    CHECK(gep_assessment_zone(a, 1, &z) == GEP_ERR_BAD_ARGUMENT);
    CHECK(strstr(gep_last_error(), "zone index 1 is out of range (there are 1)") != NULL);
    GepAccountRow row;
    CHECK(gep_assessment_row(a, 0, &row) == GEP_ERR_BAD_ARGUMENT);
    GepFailure f;
    CHECK(gep_assessment_failure(a, 0, &f) == GEP_ERR_BAD_ARGUMENT);
    gep_assessment_free(a);

    CHECK(strlen(gep_version()) > 0);
    if (failures == 0) printf("errors: all checks passed\n");
    return failures == 0 ? 0 : 1;
}
