/* Playlists (src/pipeline/playlist_*.c): similar, mix, journey and radio from a catalog made here, the
 * rules held over many random requests (property tests), radio's state, the approximate index against
 * the exact search, and the M3U text.
 *
 * The catalog: N_SONGS ok tracks in four genres, each genre's descriptors drawn around its own centre;
 * 12 artists (each in one genre), two albums each, durations spread over 100..400 s, files under
 * /music/GENRE/ARTIST/. */
#include <math.h>
#include <string.h>

#include "musicmap/features.h"
#include "musicmap/pipeline.h"
#include "testutil.h"

#define N_SONGS 160
#define N_GROUPS 4
#define N_ARTISTS 12

static const char *const GROUPS[N_GROUPS] = {"Jazz", "Rock", "Hip-Hop", "Folk"};

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static double uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static int group_of(int64_t id)
{
    return (int)(id % N_GROUPS);
}

static const char *make_catalog(void)
{
    static char path[512];
    if (path[0])
        return path;
    snprintf(path, sizeof path, "%s/playlist.db", tu_temp_dir());
    static char paths[N_SONGS][128], titles[N_SONGS][32], artists[N_SONGS][32], albums[N_SONGS][32];
    static float v[N_SONGS][MM_DESCRIPTOR_DIM];
    tu_song songs[N_SONGS];
    float centre[N_GROUPS][MM_DESCRIPTOR_DIM];
    for (int g = 0; g < N_GROUPS; g++)
        for (int j = 0; j < MM_DESCRIPTOR_DIM; j++)
            centre[g][j] = (float)(3.0 * uniform());
    for (int i = 1; i <= N_SONGS; i++) {
        int g = group_of(i), a = i % N_ARTISTS; /* a % 4 == g: an artist plays one genre */
        snprintf(artists[i - 1], sizeof artists[0], "Artist %d", a);
        snprintf(albums[i - 1], sizeof albums[0], "Album %d-%d", a, (i / N_ARTISTS) % 2);
        snprintf(paths[i - 1], sizeof paths[0], "/music/%s/%s/%03d song.mp3", GROUPS[g], artists[i - 1], i);
        snprintf(titles[i - 1], sizeof titles[0], i == 7 ? "Song\n%d" : "Song %d", i); /* a line break to flatten */
        for (int j = 0; j < MM_DESCRIPTOR_DIM; j++)
            v[i - 1][j] = centre[g][j] + (float)(uniform() - 0.5);
        songs[i - 1] = (tu_song){.path = paths[i - 1], .title = titles[i - 1], .artist = artists[i - 1],
                                 .album = albums[i - 1], .genre = GROUPS[g], .duration = 100 + (i * 37) % 300,
                                 .descriptor = v[i - 1]};
    }
    tu_fake_catalog(path, songs, N_SONGS);
    return path;
}

typedef struct fixture {
    mm_catalog *cat;
    mm_song_vectors v;
    mm_playlist_engine *e;
} fixture;

static void open_fixture(fixture *f, size_t exact_max)
{
    mm_error err;
    assert_int_equal(mm_catalog_open(&f->cat, make_catalog(), 0, &err), MM_OK);
    assert_int_equal(mm_playlist_vectors_load(f->cat, NULL, 1, &f->v, &err), MM_OK);
    assert_int_equal(f->v.kind, MM_VECTORS_DESCRIPTORS); /* no map: the descriptors */
    assert_int_equal(f->v.n, N_SONGS);
    mm_playlist_engine_options o;
    mm_playlist_engine_options_init(&o);
    o.exact_max = exact_max;
    o.threads = 1;
    assert_int_equal(mm_playlist_engine_open(f->cat, &f->v, &o, &f->e, &err), MM_OK);
    assert_int_equal(mm_playlist_engine_approximate(f->e), N_SONGS > exact_max);
    assert_true(mm_playlist_engine_nn_distance(f->e) > 0);
}

static void close_fixture(fixture *f)
{
    mm_playlist_engine_close(f->e);
    mm_song_vectors_free(&f->v);
    mm_catalog_close(f->cat);
}

static double dist(const fixture *f, int64_t a, int64_t b)
{
    long i = mm_song_vectors_find(&f->v, a), j = mm_song_vectors_find(&f->v, b);
    double s = 0;
    for (int c = 0; c < f->v.dim; c++) {
        double t = (double)f->v.x[(size_t)i * (size_t)f->v.dim + (size_t)c] - f->v.x[(size_t)j * (size_t)f->v.dim + (size_t)c];
        s += t * t;
    }
    return sqrt(s);
}

static void test_names(void **state)
{
    (void)state;
    for (int k = MM_PLAYLIST_SIMILAR; k <= MM_PLAYLIST_RADIO; k++) {
        mm_playlist_kind back;
        assert_int_equal(mm_playlist_kind_parse(mm_playlist_kind_name((mm_playlist_kind)k), &back), 0);
        assert_int_equal(back, k);
    }
    for (int k = MM_MIX_ROUND_ROBIN; k <= MM_MIX_NEAREST_SEED; k++) {
        mm_mix_rule back;
        assert_int_equal(mm_mix_rule_parse(mm_mix_rule_name((mm_mix_rule)k), &back), 0);
        assert_int_equal(back, k);
    }
    mm_playlist_kind k;
    assert_int_equal(mm_playlist_kind_parse("shuffle", &k), -1);
    assert_int_equal(mm_playlist_kind_parse(NULL, &k), -1);
}

/* Songs by id or path; the tags the rules read; unknown songs and maps are NOT_FOUND. */
static void test_engine(void **state)
{
    (void)state;
    fixture f;
    open_fixture(&f, 50000);
    mm_error err;
    int64_t id = 0;
    assert_int_equal(mm_playlist_engine_resolve(f.e, "42", &id, &err), MM_OK);
    assert_int_equal(id, 42);
    assert_int_equal(mm_playlist_engine_resolve(f.e, "/music/Rock/Artist 5/005 song.mp3", &id, &err), MM_OK);
    assert_int_equal(id, 5);
    assert_int_equal(mm_playlist_engine_resolve(f.e, "999", &id, &err), MM_ERR_NOT_FOUND);
    assert_int_equal(mm_playlist_engine_resolve(f.e, "/music/nope.mp3", &id, &err), MM_ERR_NOT_FOUND);
    assert_int_equal(mm_playlist_engine_resolve(f.e, "", &id, &err), MM_ERR_ARG);
    const mm_playlist_song *s = mm_playlist_engine_song(f.e, 5);
    assert_non_null(s);
    assert_string_equal(s->artist, "Artist 5");
    assert_string_equal(s->genre, "Rock");
    assert_true(fabs(s->duration - (100 + (5 * 37) % 300)) < 1e-9);
    assert_null(mm_playlist_engine_song(f.e, 999));
    mm_song_vectors v;
    assert_int_equal(mm_playlist_vectors_load(f.cat, "no such map", 1, &v, &err), MM_ERR_NOT_FOUND);
    close_fixture(&f);
}

/* Without spacing rules, similar is exactly the nearest songs; with them, the nearest that fit. */
static void test_similar(void **state)
{
    (void)state;
    fixture f;
    open_fixture(&f, 50000);
    mm_playlist_request q;
    mm_playlist_request_init(&q);
    int64_t seed = 10;
    q.seeds = &seed, q.n_seeds = 1, q.length = 15, q.artist_gap = 0, q.album_gap = 0;
    mm_playlist pl;
    mm_error err;
    assert_int_equal(mm_playlist_make(f.e, &q, &pl, &err), MM_OK);
    mm_similar_song near[15];
    assert_int_equal(mm_song_vectors_nearest(&f.v, (size_t)mm_song_vectors_find(&f.v, seed), 15, near), 15);
    assert_int_equal(pl.n, 15);
    for (int i = 0; i < 15; i++) {
        assert_int_equal(pl.songs[i].id, near[i].id);
        assert_true(fabs(pl.songs[i].distance - near[i].distance) < 1e-4);
        assert_int_equal(group_of(pl.songs[i].id), group_of(seed));
    }
    mm_playlist_free(&pl);
    q.with_seeds = 1;
    assert_int_equal(mm_playlist_make(f.e, &q, &pl, &err), MM_OK);
    assert_int_equal(pl.songs[0].id, seed);
    assert_int_equal(pl.songs[1].id, near[0].id);
    mm_playlist_free(&pl);
    /* refusals */
    q.n_seeds = 0;
    assert_int_equal(mm_playlist_make(f.e, &q, &pl, &err), MM_ERR_ARG);
    mm_playlist_free(&pl);
    int64_t gone = 9999;
    q.seeds = &gone, q.n_seeds = 1;
    assert_int_equal(mm_playlist_make(f.e, &q, &pl, &err), MM_ERR_NOT_FOUND);
    mm_playlist_free(&pl);
    close_fixture(&f);
}

/* Every rule on one playlist: no song twice, artists and albums spaced, filters (but the seeds') kept. */
static void check_rules(const fixture *f, const mm_playlist_request *q, const mm_playlist *pl)
{
    for (size_t i = 0; i < pl->n; i++) {
        int64_t id = pl->songs[i].id;
        int seed = 0;
        for (size_t s = 0; s < q->n_seeds; s++)
            seed |= q->seeds[s] == id;
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(pl->songs[j].id, id);
            int64_t other = pl->songs[j].id;
            int both_seeds = 0;
            for (size_t s = 0; s < q->n_seeds; s++)
                for (size_t t = 0; t < q->n_seeds; t++)
                    both_seeds |= q->seeds[s] == id && q->seeds[t] == other;
            if (both_seeds) /* two seeds' spacing is the caller's choice */
                continue;
            const mm_playlist_song *a = mm_playlist_engine_song(f->e, id), *b = mm_playlist_engine_song(f->e, other);
            if (q->artist_gap > 1 && i - j < (size_t)q->artist_gap)
                assert_string_not_equal(a->artist, b->artist);
            if (q->album_gap > 1 && i - j < (size_t)q->album_gap)
                assert_string_not_equal(a->album, b->album);
        }
        for (size_t x = 0; x < q->n_exclude; x++)
            assert_int_not_equal(q->exclude[x], id);
        if (seed)
            continue;
        const mm_playlist_song *s = mm_playlist_engine_song(f->e, id);
        if (q->min_duration > 0)
            assert_true(s->duration >= q->min_duration);
        if (q->max_duration > 0)
            assert_true(s->duration <= q->max_duration);
        if (q->n_exclude_genres)
            assert_string_not_equal(s->genre, q->exclude_genres[0]);
        if (q->n_folders)
            assert_int_equal(strncmp(s->path, q->folders[0], strlen(q->folders[0])), 0);
    }
    if (pl->n > 1)
        assert_true(pl->max_step >= pl->mean_step);
}

static int same_playlist(const mm_playlist *a, const mm_playlist *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->songs[i].id != b->songs[i].id)
            return 0;
    return 1;
}

/* Random requests of every kind with random rules: the rules hold, and the same request makes the
 * same playlist. Run over the exact search and the approximate index. */
static void property_run(size_t exact_max)
{
    fixture f;
    open_fixture(&f, exact_max);
    static const char *const no_folk[] = {"folk"};
    static const char *const rock_dir[] = {"/music/Rock"};
    for (int trial = 0; trial < 60; trial++) {
        mm_playlist_request q;
        mm_playlist_request_init(&q);
        q.kind = (mm_playlist_kind)(trial % 4);
        int64_t seeds[3];
        for (int s = 0; s < 3; s++)
            seeds[s] = 1 + (int64_t)(uniform() * N_SONGS);
        while (seeds[1] == seeds[0])
            seeds[1] = 1 + (int64_t)(uniform() * N_SONGS);
        while (seeds[2] == seeds[0] || seeds[2] == seeds[1])
            seeds[2] = 1 + (int64_t)(uniform() * N_SONGS);
        q.seeds = seeds;
        q.n_seeds = q.kind == MM_PLAYLIST_MIX ? 1 + (size_t)(trial % 3) : q.kind == MM_PLAYLIST_JOURNEY ? 2 : 1;
        q.length = 2 + (int)(uniform() * 40);
        q.with_seeds = trial % 3 == 0;
        q.mix = (mm_mix_rule)(trial % 3);
        q.seed = (uint64_t)trial;
        q.artist_gap = (int)(uniform() * 5);
        q.album_gap = (int)(uniform() * 5);
        if (trial % 5 == 1)
            q.min_duration = 150, q.max_duration = 350;
        if (trial % 7 == 2)
            q.exclude_genres = no_folk, q.n_exclude_genres = 1;
        if (trial % 11 == 3)
            q.folders = rock_dir, q.n_folders = 1;
        int64_t exclude[2] = {seeds[0] + 1, seeds[0] + 2};
        if (trial % 4 == 1)
            q.exclude = exclude, q.n_exclude = 2;
        mm_playlist a, b;
        mm_error err;
        assert_int_equal(mm_playlist_make(f.e, &q, &a, &err), MM_OK);
        check_rules(&f, &q, &a);
        assert_int_equal(mm_playlist_make(f.e, &q, &b, &err), MM_OK);
        assert_true(same_playlist(&a, &b));
        if (q.kind == MM_PLAYLIST_JOURNEY) {
            assert_true(a.n >= 2);
            assert_int_equal(a.songs[0].id, seeds[0]);
            assert_int_equal(a.songs[a.n - 1].id, seeds[1]);
        }
        if (q.kind == MM_PLAYLIST_SIMILAR && !q.min_duration && !q.n_folders && !q.n_exclude_genres)
            assert_int_equal(a.n, (size_t)q.length); /* 160 songs: rules never run out here */
        mm_playlist_free(&a);
        mm_playlist_free(&b);
    }
    close_fixture(&f);
}

static void test_rules_exact(void **state)
{
    (void)state;
    property_run(50000);
}

static void test_rules_index(void **state)
{
    (void)state;
    property_run(10);
}

/* Round robin gives each seed its turn: with seeds of two genres, half the songs are of each. */
static void test_mix(void **state)
{
    (void)state;
    fixture f;
    open_fixture(&f, 50000);
    int64_t seeds[2] = {8, 9}; /* Jazz, Rock */
    mm_playlist_request q;
    mm_playlist_request_init(&q);
    q.kind = MM_PLAYLIST_MIX, q.seeds = seeds, q.n_seeds = 2, q.length = 20;
    mm_playlist pl;
    mm_error err;
    assert_int_equal(mm_playlist_make(f.e, &q, &pl, &err), MM_OK);
    assert_int_equal(pl.n, 20);
    int count[N_GROUPS] = {0};
    for (size_t i = 0; i < pl.n; i++) {
        count[group_of(pl.songs[i].id)]++;
        assert_int_equal(group_of(pl.songs[i].id), group_of(seeds[i % 2])); /* in turn */
    }
    assert_int_equal(count[0], 10);
    assert_int_equal(count[1], 10);
    mm_playlist_free(&pl);
    close_fixture(&f);
}

/* A journey from one genre to another: its ends, its length, no jump larger than the whole way, and the
 * steps it reports are the steps between its songs. */
static void test_journey(void **state)
{
    (void)state;
    fixture f;
    open_fixture(&f, 50000);
    int64_t ends[2] = {4, 6}; /* Jazz to Hip-Hop */
    mm_playlist_request q;
    mm_playlist_request_init(&q);
    q.kind = MM_PLAYLIST_JOURNEY, q.seeds = ends, q.n_seeds = 2, q.length = 12;
    /* Hip-Hop has three artists, one of them the destination's: spacing would send the last steps back */
    q.artist_gap = q.album_gap = 0;
    mm_playlist pl;
    mm_error err;
    assert_int_equal(mm_playlist_make(f.e, &q, &pl, &err), MM_OK);
    assert_int_equal(pl.n, 12);
    assert_int_equal(pl.songs[0].id, 4);
    assert_int_equal(pl.songs[11].id, 6);
    double whole = dist(&f, 4, 6), mx = 0;
    for (size_t i = 1; i < pl.n; i++) {
        double s = dist(&f, pl.songs[i - 1].id, pl.songs[i].id);
        assert_true(fabs(s - pl.songs[i].step) < 1e-4);
        mx = fmax(mx, s);
    }
    assert_true(fabs(mx - pl.max_step) < 1e-4);
    assert_true(pl.max_step < whole);
    /* it goes from one genre to the other, once: Jazz songs first, Hip-Hop songs last */
    int switches = 0;
    for (size_t i = 1; i < pl.n; i++)
        switches += group_of(pl.songs[i].id) != group_of(pl.songs[i - 1].id);
    assert_int_equal(switches, 1);
    assert_int_equal(group_of(pl.songs[1].id), group_of(4));
    assert_int_equal(group_of(pl.songs[10].id), group_of(6));
    mm_playlist_free(&pl);
    int64_t same[2] = {4, 4};
    q.seeds = same;
    assert_int_equal(mm_playlist_make(f.e, &q, &pl, &err), MM_ERR_ARG);
    mm_playlist_free(&pl);
    close_fixture(&f);
}

/* Radio: 40 songs at once are 20 and 20 more from the state; never a song twice over several resumes;
 * it leaves the seed's genre; a damaged state is refused. */
static void test_radio(void **state)
{
    (void)state;
    fixture f;
    open_fixture(&f, 50000);
    int64_t seed = 3;
    mm_playlist_request q;
    mm_playlist_request_init(&q);
    q.kind = MM_PLAYLIST_RADIO, q.seeds = &seed, q.n_seeds = 1, q.length = 40, q.seed = 7;
    mm_playlist whole, part, rest;
    mm_error err;
    assert_int_equal(mm_playlist_make(f.e, &q, &whole, &err), MM_OK);
    assert_int_equal(whole.n, 40);
    assert_non_null(whole.state);
    check_rules(&f, &q, &whole);
    int groups[N_GROUPS] = {0}, seen = 0;
    for (size_t i = 0; i < whole.n; i++) {
        assert_int_not_equal(whole.songs[i].id, seed);
        seen += !groups[group_of(whole.songs[i].id)]++;
    }
    assert_true(seen >= 3); /* it wanders */
    q.length = 20;
    assert_int_equal(mm_playlist_make(f.e, &q, &part, &err), MM_OK);
    mm_playlist_request r;
    mm_playlist_request_init(&r);
    r.kind = MM_PLAYLIST_RADIO, r.length = 20, r.state = part.state;
    assert_int_equal(mm_playlist_make(f.e, &r, &rest, &err), MM_OK);
    assert_int_equal(part.n + rest.n, 40);
    for (size_t i = 0; i < 40; i++)
        assert_int_equal(whole.songs[i].id, i < 20 ? part.songs[i].id : rest.songs[i - 20].id);
    assert_string_equal(rest.state, whole.state);
    /* on until the collection is used up: every song once, never the seed */
    char *st = strdup(rest.state);
    int played[N_SONGS + 1] = {0};
    for (size_t i = 0; i < 40; i++)
        played[whole.songs[i].id]++;
    size_t total = 40;
    r.artist_gap = r.album_gap = 0; /* the last songs left may all be one artist's */
    for (int round = 0; round < 10; round++) {
        mm_playlist more;
        r.state = st, r.length = 25;
        assert_int_equal(mm_playlist_make(f.e, &r, &more, &err), MM_OK);
        for (size_t i = 0; i < more.n; i++)
            assert_int_equal(++played[more.songs[i].id], 1);
        total += more.n;
        free(st);
        st = strdup(more.state);
        mm_playlist_free(&more);
    }
    assert_int_equal(total, N_SONGS - 1);
    free(st);
    r.state = "mmr1.3.4.zz.1.";
    mm_playlist bad;
    assert_int_equal(mm_playlist_make(f.e, &r, &bad, &err), MM_ERR_ARG);
    mm_playlist_free(&bad);
    mm_playlist_free(&whole);
    mm_playlist_free(&part);
    mm_playlist_free(&rest);
    close_fixture(&f);
}

/* The approximate index against the exact search on clustered vectors without a catalog: recall of
 * the 10 nearest. */
static void test_index_recall(void **state)
{
    (void)state;
    const size_t n = 6000;
    const int d = 24, k = 10;
    mm_song_vectors v = {.kind = MM_VECTORS_DESCRIPTORS, .n = n, .dim = d};
    v.ids = malloc(sizeof *v.ids * n);
    v.x = malloc(sizeof *v.x * n * (size_t)d);
    float centres[40][24];
    for (int c = 0; c < 40; c++)
        for (int j = 0; j < d; j++)
            centres[c][j] = (float)(8 * uniform());
    for (size_t i = 0; i < n; i++) {
        v.ids[i] = (int64_t)i + 1;
        for (int j = 0; j < d; j++)
            v.x[i * (size_t)d + (size_t)j] = centres[i % 40][j] + (float)(2 * uniform() - 1) * (j < 8 ? 1.5f : 0.3f);
    }
    mm_playlist_engine_options o;
    mm_playlist_engine_options_init(&o);
    o.exact_max = 1000, o.index_dims = 8, o.threads = 1;
    mm_playlist_engine *e;
    mm_error err;
    assert_int_equal(mm_playlist_engine_open(NULL, &v, &o, &e, &err), MM_OK);
    assert_int_equal(mm_playlist_engine_approximate(e), 1);
    mm_playlist_request q;
    mm_playlist_request_init(&q);
    q.length = k;
    size_t found = 0, asked = 0;
    for (size_t s = 0; s < 200; s++) {
        int64_t seed = (int64_t)(s * 29 + 1);
        q.seeds = &seed, q.n_seeds = 1;
        mm_playlist pl;
        assert_int_equal(mm_playlist_make(e, &q, &pl, &err), MM_OK);
        mm_similar_song near[10];
        size_t m = mm_song_vectors_nearest(&v, (size_t)(seed - 1), k, near);
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < pl.n; j++)
                found += near[i].id == pl.songs[j].id;
        asked += m;
        mm_playlist_free(&pl);
    }
    double recall = (double)found / (double)asked;
    print_message("index recall@10: %.3f\n", recall);
    assert_true(recall >= 0.9);
    mm_playlist_engine_close(e);
    mm_song_vectors_free(&v);
}

typedef struct membuf {
    char data[8192];
    size_t len;
} membuf;

static void to_mem(const void *bytes, size_t n, void *ctx)
{
    membuf *m = ctx;
    assert_true(m->len + n < sizeof m->data);
    memcpy(m->data + m->len, bytes, n);
    m->len += n;
    m->data[m->len] = '\0';
}

static void test_m3u(void **state)
{
    (void)state;
    fixture f;
    open_fixture(&f, 50000);
    mm_playlist_entry songs[2] = {{.id = 7}, {.id = 5}};
    mm_playlist pl = {.songs = songs, .n = 2};
    mm_m3u_options o;
    mm_m3u_options_init(&o);
    membuf m = {.len = 0};
    mm_playlist_write_m3u(f.e, &pl, &o, to_mem, &m);
    assert_string_equal(m.data, "#EXTM3U\n"
                                "#EXTINF:359,Artist 7 - Song 7\n"
                                "/music/Folk/Artist 7/007 song.mp3\n"
                                "#EXTINF:285,Artist 5 - Song 5\n"
                                "/music/Rock/Artist 5/005 song.mp3\n");
    m.len = 0;
    o.extended = 0, o.relative_to = "/music/Rock/";
    mm_playlist_write_m3u(f.e, &pl, &o, to_mem, &m);
    assert_string_equal(m.data, "../Folk/Artist 7/007 song.mp3\n"
                                "Artist 5/005 song.mp3\n");
    /* a server's links: the URL wins over the path, with or without a suffix */
    m.len = 0;
    o.url_prefix = "https://host:8080/api/tracks/", o.url_suffix = "/audio?token=abc";
    mm_playlist_write_m3u(f.e, &pl, &o, to_mem, &m);
    assert_string_equal(m.data, "https://host:8080/api/tracks/7/audio?token=abc\n"
                                "https://host:8080/api/tracks/5/audio?token=abc\n");
    m.len = 0;
    o.extended = 1, o.url_suffix = NULL;
    mm_playlist_write_m3u(f.e, &pl, &o, to_mem, &m);
    assert_string_equal(m.data, "#EXTM3U\n"
                                "#EXTINF:359,Artist 7 - Song 7\n"
                                "https://host:8080/api/tracks/7\n"
                                "#EXTINF:285,Artist 5 - Song 5\n"
                                "https://host:8080/api/tracks/5\n");
    close_fixture(&f);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),       cmocka_unit_test(test_engine),      cmocka_unit_test(test_similar),
        cmocka_unit_test(test_rules_exact), cmocka_unit_test(test_rules_index), cmocka_unit_test(test_mix),
        cmocka_unit_test(test_journey),     cmocka_unit_test(test_radio),       cmocka_unit_test(test_index_recall),
        cmocka_unit_test(test_m3u),
    };
    return tu_main(argc, argv, "test_playlist", tests, TU_COUNT(tests), NULL, 0);
}
