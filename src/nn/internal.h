/* Shared by the nn module's files; not part of the public API. */
#ifndef MM_NN_INTERNAL_H
#define MM_NN_INTERNAL_H

#include "musicmap/nn.h"

/* Batch-norm epsilon of the Keras models (Keras' default is 1e-3). */
#define MM_BN_EPSILON 1e-3f
/* A contrastive head's temperature unless set (docs/network.md: 0.1 measured best of 0.1, 0.2, 0.5). */
#define NN_DEFAULT_TEMPERATURE 0.1f

struct mm_model {
    mm_preset preset;
    mm_head head;
    float temperature; /* contrastive head only */
    mm_gru_variant gru; /* both GRU layers' formulas; the default: {hard_sigmoid, reset before} */
    mm_frontend_params frontend;
    int n_labels;
    char labels[MM_MAX_LABELS][MM_LABEL_MAX];
    int n_params;
    mm_tensor *params;
};

/* Parameter names, in file order:
 *   bn0.{gamma,beta,mean,var}                  [input width]
 *   convK.w [F][Cin][3][3], convK.b [F]        K = 1..n_blocks
 *   bnK.{gamma,beta,mean,var} [F]
 *   gru1.{W [Cin][3U], U [U][3U], b [3U]}      gate blocks z | r | h, as Keras 2; b [2][3U] (input
 *   gru2.{W [U][3U], U [U][3U], b [3U]}          bias, recurrent bias) when gru.reset_after
 *   dense.{W [U][K], b [K]} */
mm_status model_alloc_params(mm_model *model, mm_error *err);

#endif
