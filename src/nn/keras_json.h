/* A small JSON reader for the model_config attribute of Keras HDF5 files (src/nn/keras.c). Not part
 * of the public API. */
#ifndef MM_NN_KERAS_JSON_H
#define MM_NN_KERAS_JSON_H

#include <stddef.h>

typedef enum kj_type { KJ_NULL, KJ_BOOL, KJ_NUMBER, KJ_STRING, KJ_ARRAY, KJ_OBJECT } kj_type;

typedef struct kj_node {
    kj_type type;
    int boolean;
    double number;
    char *string;           /* KJ_STRING, UTF-8, NUL-terminated */
    size_t count;           /* KJ_ARRAY, KJ_OBJECT */
    struct kj_node **items; /* the values */
    char **keys;            /* KJ_OBJECT only */
} kj_node;

/* Parses len bytes of JSON (Python's json.dumps: NaN and Infinity allowed). Returns NULL and a reason
 * in why[why_size] when the text isn't JSON or nests too deep. */
kj_node *kj_parse(const char *text, size_t len, char *why, size_t why_size);
void kj_free(kj_node *node);

/* The value of key in an object (the first such), or NULL (also when node is NULL or no object). */
const kj_node *kj_get(const kj_node *node, const char *key);
/* A string value's text, or NULL when node is not a string. */
const char *kj_string(const kj_node *node);
/* Whether node is an array of n numbers equal to values[0..n-1]. */
int kj_numbers_equal(const kj_node *node, const double *values, size_t n);

#endif
