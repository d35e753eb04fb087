/* gep_run_plan on the config file given as argv[1]; prints what tests/c_api.rs compares with
 * the gep command's outputs, one `key value` per line, values with 17 significant digits. */
#include "gep.h"

#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CONFIG.toml\n", argv[0]);
        return 2;
    }
    GepAssessment *a = NULL;
    int rc = gep_run_plan(argv[1], &a);
    if (rc != GEP_OK) {
        fprintf(stderr, "gep_run_plan: %d: %s\n", rc, gep_last_error());
        return 1;
    }
    GepTotals t;
    if (gep_assessment_totals(a, &t) != GEP_OK) {
        fprintf(stderr, "gep_assessment_totals: %s\n", gep_last_error());
        return 1;
    }
    printf("gep_yuan %.17g\n", t.gep_yuan);
    printf("material_yuan %.17g\n", t.material_yuan);
    printf("regulating_yuan %.17g\n", t.regulating_yuan);
    printf("cultural_yuan %.17g\n", t.cultural_yuan);
    printf("supporting_yuan %.17g\n", t.supporting_yuan);
    printf("total_kind %d\n", t.total_kind);
    printf("price_year %d\n", t.has_price_year ? t.price_year : -1);
    printf("counties %zu\n", t.zones);
    printf("method %s\n", t.method);
    size_t counts[3] = {0, 0, 0};
    for (size_t i = 0; i < gep_assessment_zone_count(a); i++) {
        GepZone z;
        if (gep_assessment_zone(a, i, &z) != GEP_OK) return 1;
        counts[z.level]++;
        if (z.level == GEP_LEVEL_COUNTY) printf("county %s %.17g\n", z.id, z.gep_yuan);
    }
    printf("zones %zu %zu %zu\n", counts[0], counts[1], counts[2]);
    printf("rows %zu\n", gep_assessment_row_count(a));
    printf("failures %zu\n", gep_assessment_failure_count(a));
    for (size_t i = 0; i < gep_assessment_failure_count(a); i++) {
        GepFailure f;
        if (gep_assessment_failure(a, i, &f) != GEP_OK) return 1;
        printf("failure %s %s\n", f.unit_id, f.reason);
    }
    gep_assessment_free(a);
    return 0;
}
