/* GET /api/model (and data/model.json in an exported site): the newest trained model's training history
 * and test confusion matrix, as stored with it (docs/figures.md), for the page's Model panel, which
 * draws the same figures as `musicmap plot training` and `plot confusion`. */
#include <math.h>

#include "internal.h"
#include "musicmap/plot.h"

static void numbers(srv_buf *out, const double *v, int n)
{
    srv_buf_puts(out, "[");
    for (int i = 0; i < n; i++) {
        srv_buf_puts(out, i ? ", " : "");
        srv_buf_json_number(out, v[i], 6);
    }
    srv_buf_puts(out, "]");
}

int srv_api_model(srv_state *srv, mm_catalog *cat, srv_buf *out)
{
    (void)srv;
    mm_model_history h;
    mm_error err;
    mm_status st = mm_model_history_load(cat, NULL, &h, &err);
    if (st != MM_OK)
        return srv_api_error(out, st == MM_ERR_NOT_FOUND ? 404 : 500,
                             st == MM_ERR_NOT_FOUND ? "no trained model" : err.msg);
    srv_buf_puts(out, "{\"model\": ");
    srv_buf_json_string(out, h.model);
    srv_buf_printf(out, ", \"self_supervised\": %s, \"best_epoch\": %d, \"test_accuracy\": ",
                   h.self_supervised ? "true" : "false", h.best_epoch);
    srv_buf_json_number(out, h.test_accuracy, 4);
    srv_buf_puts(out, ", \"classes\": [");
    for (int i = 0; i < h.n_classes; i++) {
        srv_buf_puts(out, i ? ", " : "");
        srv_buf_json_string(out, h.classes[i]);
    }
    srv_buf_puts(out, "], \"history\": ");
    if (h.n_epochs) {
        const char *const names[] = {"train_loss", "train_acc", "val_loss", "val_acc", "learning_rate"};
        const double *cols[] = {h.train_loss, h.train_acc, h.val_loss, h.val_acc, h.learning_rate};
        for (int k = 0; k < 5; k++) {
            srv_buf_printf(out, "%s\"%s\": ", k ? ", " : "{", names[k]);
            numbers(out, cols[k], h.n_epochs);
        }
        srv_buf_puts(out, "}");
    } else {
        srv_buf_puts(out, "null");
    }
    srv_buf_puts(out, ", \"confusion\": ");
    if (h.confusion) {
        srv_buf_puts(out, "[");
        for (int r = 0; r < h.n_classes; r++) {
            srv_buf_puts(out, r ? ", [" : "[");
            for (int c = 0; c < h.n_classes; c++)
                srv_buf_printf(out, "%s%lld", c ? ", " : "", (long long)h.confusion[r * h.n_classes + c]);
            srv_buf_puts(out, "]");
        }
        srv_buf_puts(out, "]");
    } else {
        srv_buf_puts(out, "null");
    }
    srv_buf_puts(out, "}");
    mm_model_history_free(&h);
    return out->failed ? srv_api_error(out, 503, "out of memory") : 200;
}
