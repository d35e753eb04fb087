/* gep_assess_memory on a raster and zones small enough to check by hand.
 *
 * 4 x 4 cells of 30 m (planar), origin (0, 120): columns 0-1 MODIS IGBP class 2 (evergreen
 * broadleaf forest), columns 2-3 class 0 (water); the top-right cell is nodata (-1).
 *
 *   county 331123  x 0..60,   y 0..120  Polygon       -> 7,200 m² forest
 *   county 331124  x 60..120, y 0..120  MultiPolygon  -> 6,300 m² water, 900 m² nodata
 *   township 331123100 (parent 331123)  x 0..45, y 0..45 -> 2,025 m² forest
 *
 * Values (xie2015 through modis-igbp-mcd12c1): area (ha) x equivalent factor x D, D = 3406.5
 * 元/ha/a at 2010 prices; the factors are those of crates/gep-core/data/coefficients/xie2015.csv.
 * Exits 0 when every check passes; prints each failed check. */
#include "gep.h"

#include <math.h>
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

static int close_to(double got, double want) {
    return fabs(got - want) <= 1e-9 * fabs(want);
}

/* Appends a WKB uint32 / double in the host's byte order (the header byte says which). */
static size_t put_u32(uint8_t *b, size_t at, uint32_t v) { memcpy(b + at, &v, 4); return at + 4; }
static size_t put_f64(uint8_t *b, size_t at, double v) { memcpy(b + at, &v, 8); return at + 8; }
static uint8_t host_order(void) { uint16_t one = 1; uint8_t first; memcpy(&first, &one, 1); return first; }

/* WKB Polygon of the rectangle x0..x1, y0..y1 (one closed ring of 5 points) at b + at. */
static size_t rect_polygon(uint8_t *b, size_t at, double x0, double y0, double x1, double y1) {
    const double ring[5][2] = {{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}};
    b[at++] = host_order(); /* 1 = little-endian (NDR), 0 = big-endian (XDR) */
    at = put_u32(b, at, 3); /* Polygon */
    at = put_u32(b, at, 1); /* rings */
    at = put_u32(b, at, 5); /* points */
    for (int i = 0; i < 5; i++) {
        at = put_f64(b, at, ring[i][0]);
        at = put_f64(b, at, ring[i][1]);
    }
    return at;
}

/* Equivalent factors of xie2015.csv, services in file order: food, raw materials, water
 * supply (material); gas, climate, purification, hydrological, soil, nutrients, biodiversity
 * (regulating); aesthetic landscape (cultural). */
static const double FOREST_EVERGREEN_BROADLEAF[11] = {0.29, 0.66, 0.34, 2.17, 6.5, 1.93, 4.74, 2.65, 0.2, 2.41, 1.06};
static const double WATER[11] = {0.8, 0.23, 8.29, 0.77, 2.29, 5.55, 102.24, 0.93, 0.07, 2.55, 1.89};
static const double D = 3406.5;

static double sum(const double *f, int from, int to) {
    double s = 0;
    for (int i = from; i < to; i++) s += f[i];
    return s;
}

int main(void) {
    int32_t classes[16];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) classes[r * 4 + c] = c < 2 ? 2 : 0;
    classes[3] = -1;
    GepRaster raster = {
        .classes = classes, .rows = 4, .cols = 4, .left = 0.0, .top = 120.0,
        .cell_width = 30.0, .cell_height = 30.0, .has_nodata = 1, .nodata = -1,
        .crs = GEP_CRS_PROJECTED,
    };

    uint8_t west[93], east[102], township[93];
    size_t west_len = rect_polygon(west, 0, 0, 0, 60, 120);
    /* MultiPolygon of one polygon. */
    size_t east_len = 0;
    east[east_len++] = host_order();
    east_len = put_u32(east, east_len, 6);
    east_len = put_u32(east, east_len, 1);
    east_len = rect_polygon(east, east_len, 60, 0, 120, 120);
    size_t township_len = rect_polygon(township, 0, 0, 0, 45, 45);
    CHECK(west_len == sizeof west && east_len == sizeof east && township_len == sizeof township);

    const uint8_t *wkb[3] = {west, east, township};
    const size_t wkb_len[3] = {west_len, east_len, township_len};
    const char *ids[3] = {"331123", "331124", "331123100"};
    const char *names[3] = {"景宁", "east", NULL};
    const int levels[3] = {GEP_LEVEL_COUNTY, GEP_LEVEL_COUNTY, GEP_LEVEL_TOWNSHIP};
    const char *parents[3] = {NULL, NULL, "331123"};
    GepZones zones = {
        .count = 3, .wkb = wkb, .wkb_len = wkb_len, .ids = ids, .names = names,
        .levels = levels, .parents = parents,
    };

    GepAssessment *a = NULL;
    int rc = gep_assess_memory(&raster, &zones, "xie2015", "modis-igbp-mcd12c1", 2019, &a);
    CHECK(rc == GEP_OK);
    if (rc != GEP_OK) return 1;
    CHECK(strcmp(gep_last_error(), "") == 0);

    /* Zones: counties first, each followed by its township. */
    CHECK(gep_assessment_zone_count(a) == 3);
    GepZone z;
    double want_gep[2] = {
        0.72 * D * sum(FOREST_EVERGREEN_BROADLEAF, 0, 11),
        0.63 * D * sum(WATER, 0, 11),
    };
    const char *order[3] = {"331123", "331123100", "331124"};
    for (size_t i = 0; i < 3; i++) {
        CHECK(gep_assessment_zone(a, i, &z) == GEP_OK);
        CHECK(strcmp(z.id, order[i]) == 0);
    }
    CHECK(gep_assessment_zone(a, 0, &z) == GEP_OK);
    CHECK(z.level == GEP_LEVEL_COUNTY && z.parent_id == NULL);
    CHECK(z.covered_m2 == 7200.0 && z.nodata_m2 == 0.0 && z.outside_m2 == 0.0);
    CHECK(close_to(z.gep_yuan, want_gep[0]));
    CHECK(close_to(z.material_yuan, 0.72 * D * sum(FOREST_EVERGREEN_BROADLEAF, 0, 3)));
    CHECK(close_to(z.cultural_yuan, 0.72 * D * FOREST_EVERGREEN_BROADLEAF[10]));
    CHECK(gep_assessment_zone(a, 1, &z) == GEP_OK);
    CHECK(z.level == GEP_LEVEL_TOWNSHIP && z.parent_id != NULL && strcmp(z.parent_id, "331123") == 0);
    CHECK(z.covered_m2 == 2025.0);
    CHECK(close_to(z.gep_yuan, 0.2025 * D * sum(FOREST_EVERGREEN_BROADLEAF, 0, 11)));
    CHECK(gep_assessment_zone(a, 2, &z) == GEP_OK);
    CHECK(z.covered_m2 == 6300.0 && z.nodata_m2 == 900.0);
    CHECK(close_to(z.gep_yuan, want_gep[1]));
    /* Xie's soil conservation (7) is regulating; nutrient cycling (8) and biodiversity (9)
       are supporting services, shown apart. */
    CHECK(close_to(z.regulating_yuan, 0.63 * D * sum(WATER, 3, 8)));
    CHECK(close_to(z.supporting_yuan, 0.63 * D * sum(WATER, 8, 10)));

    /* Totals: the two counties, not the township. */
    GepTotals t;
    CHECK(gep_assessment_totals(a, &t) == GEP_OK);
    CHECK(t.zones == 2);
    CHECK(close_to(t.gep_yuan, want_gep[0] + want_gep[1]));
    CHECK(close_to(t.gep_yuan, t.material_yuan + t.regulating_yuan + t.cultural_yuan + t.supporting_yuan));
    CHECK(close_to(t.final_yuan, t.material_yuan + t.regulating_yuan + t.cultural_yuan));
    CHECK(t.total_kind == GEP_TOTAL_ESV && t.partial == 0);
    CHECK(t.has_price_year == 1 && t.price_year == 2010);
    CHECK(t.equivalent_value == D);
    CHECK(t.method != NULL && strstr(t.method, "xie2015") != NULL);

    /* Account rows: 3 zones x 1 type x 11 services; value = area x factor x D. */
    CHECK(gep_assessment_row_count(a) == 33);
    double county_sum = 0;
    for (size_t i = 0; i < gep_assessment_row_count(a); i++) {
        GepAccountRow row;
        CHECK(gep_assessment_row(a, i, &row) == GEP_OK);
        CHECK(row.has_price_year == 1 && row.price_year == 2010);
        CHECK(close_to(row.value_yuan, row.area_ha * row.unit_value));
        if (row.zone_level == GEP_LEVEL_COUNTY) county_sum += row.value_yuan;
        if (i == 0) {
            CHECK(strcmp(row.zone_id, "331123") == 0);
            CHECK(strcmp(row.ecosystem_type, "forest_evergreen_broadleaf") == 0);
            CHECK(strcmp(row.service, "esv_food") == 0);
            CHECK(strcmp(row.category, "material") == 0);
            CHECK(row.area_ha == 0.72);
            CHECK(close_to(row.unit_value, 0.29 * D));
            CHECK(isnan(row.quantity) && row.quantity_unit == NULL);
        }
        if (i == 32) {
            CHECK(strcmp(row.zone_id, "331124") == 0 && strcmp(row.ecosystem_type, "water") == 0);
            CHECK(strcmp(row.service, "esv_aesthetic_landscape") == 0);
            CHECK(strcmp(row.category, "cultural") == 0);
            CHECK(close_to(row.value_yuan, 0.63 * 1.89 * D));
        }
    }
    CHECK(close_to(county_sum, t.gep_yuan));

    /* County 331124 is partly over nodata: computed, with a warning naming it. */
    CHECK(gep_assessment_failure_count(a) == 0);
    int warned = 0;
    for (size_t i = 0; i < gep_assessment_warning_count(a); i++) {
        const char *w = NULL;
        CHECK(gep_assessment_warning(a, i, &w) == GEP_OK);
        if (strstr(w, "331124") != NULL && strstr(w, "nodata") != NULL) warned = 1;
    }
    CHECK(warned);

    gep_assessment_free(a);
    if (failures == 0) printf("memory: all checks passed\n");
    return failures == 0 ? 0 : 1;
}
