/* musicmap — the whole public API in one include: <musicmap/musicmap.h>.
 *
 * libmusicmap turns a music collection into a map: audio (decode any file to the 12 kHz front-end
 * signal), features (librosa-exact log-mel spectrograms, audio descriptors), catalog (the SQLite
 * library and its scan), nn (the genre CRNN: training, inference, Keras import), layout (PCA, t-SNE,
 * UMAP), pipeline (the steps the program runs, as functions), server (the map page and its API) and
 * plot (figures as PNG, SVG and PDF).
 * Linking, versioning, the ABI rules and thread safety are in docs/api.md.
 *
 * Thread safety: see each header; in short, handles (mm_catalog, mm_mel, mm_model, ...) are used by one
 * thread at a time unless their header says otherwise, and different handles may be used in parallel. */
#ifndef MUSICMAP_MUSICMAP_H
#define MUSICMAP_MUSICMAP_H

#include "musicmap/export.h"
#include "musicmap/version.h"
#include "musicmap/util.h"
#include "musicmap/audio.h"
#include "musicmap/features.h"
#include "musicmap/catalog.h"
#include "musicmap/cluster.h"
#include "musicmap/nn.h"
#include "musicmap/layout.h"
#include "musicmap/pipeline.h"
#include "musicmap/server.h"
#include "musicmap/plot.h"

#endif
