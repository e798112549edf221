/* The ten GTZAN genres as data. Each differs from the others the way the real ones do (tempo, meter,
 * feel, drums, bass, harmony, instruments, dynamics), and neighbours in real music share material
 * here too: rock and metal share distorted guitars, root-note bass and back-beats; disco and pop
 * share four-on-the-floor beats, synths and electric pianos; blues and jazz share swing and sevenths;
 * country and rock share straight eighths and steel guitars; hip-hop and reggae share slow tempos,
 * heavy bass and off-beat keys. */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "synth.h"

/* GM percussion keys */
enum {
    KICK = 36, SIDE_STICK = 37, SNARE = 38, CLAP = 39, HAT = 42, PEDAL_HAT = 44, OPEN_HAT = 46,
    CRASH = 49, RIDE = 51, RIDE_BELL = 53, TAMBOURINE = 54, COWBELL = 56, SHAKER = 70
};

/* Scales as intervals from the tonic. */
static const int major_scale[] = {0, 2, 4, 5, 7, 9, 11, -1};
static const int minor_scale[] = {0, 2, 3, 5, 7, 8, 10, -1};
static const int dorian[] = {0, 2, 3, 5, 7, 9, 10, -1};
static const int mixolydian[] = {0, 2, 4, 5, 7, 9, 10, -1};
static const int blues_scale[] = {0, 3, 5, 6, 7, 10, -1};
static const int major_pentatonic[] = {0, 2, 4, 7, 9, -1};
static const int minor_pentatonic[] = {0, 3, 5, 7, 10, -1};
static const int harmonic_minor[] = {0, 2, 3, 5, 7, 8, 11, -1};

/* Keys players of each style favour: guitar keys for guitar music, flat keys for horns. */
static const int guitar_keys[] = {4, 9, 2, 7, 0, 11, -1};
static const int metal_keys[] = {4, 4, 2, 9, 11, 1, -1};
static const int horn_keys[] = {5, 10, 3, 0, 8, 7, -1};
static const int any_key[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, -1};
static const int pop_keys[] = {0, 7, 2, 9, 4, 5, 10, -1};

/* ---------------------------------------------------------------- blues */
static const synth_drums blues_shuffle = {{{KICK, "X...X..."}, {SNARE, "..X...X."}, {HAT, "xxxxxxxx"}}};
static const synth_drums blues_ride = {{{KICK, "X..xX..."}, {SNARE, "..X...X."}, {RIDE, "xxxxxxxx"}}};
static const synth_drums blues_slow = {{{KICK, "X.....x."}, {SNARE, "..X...X."}, {HAT, "x.x.x.x."}}};
static const char *const blues_major[] = {
    "I7 I7 I7 I7 IV7 IV7 I7 I7 V7 IV7 I7 V7", "I7 IV7 I7 I7 IV7 IV7 I7 I7 V7 IV7 I7 I7",
    "I7 I7 I7 I7 IV7 IV7 I7 I7 V7 V7 I7 I7", NULL};
static const char *const blues_minor[] = {"i7 i7 i7 i7 iv7 iv7 i7 i7 bVI7 V7 i7 V7", "i7 i7 iv7 i7 V7 iv7 i7 i7", NULL};
static const char *const blues_bass[] = {"R3567653", "R-5-6-5-", "R-R-5-6-", NULL};
static const int blues_bass_programs[] = {33, 32, 34, -1};
static const char *const blues_comp[] = {"x-x-x-x-", "x-.xx-.x", "s.s.s.s.", "x-------", NULL};
static const int blues_comp_programs[] = {0, 26, 27, 16, 0, -1};
static const int blues_pads[] = {16, 61, -1};
static const int blues_leads[] = {29, 22, 26, 27, 65, -1};
static const int blues_kits[] = {0, 8, 0, -1};
static const char *const blues_messy[] = {"Blues", "BLUES", "blues ", "Blues/R&B", NULL};
static const char *const blues_words[] = {"Midnight", "Whiskey", "Train", "Crossroads", "Rain", "Levee",
                                          "Mojo", "Lonesome", "Muddy", "Delta", "Railroad", "Moan", NULL};

/* ---------------------------------------------------------------- classical */
static const char *const classical_major[] = {"I IV V I", "I vi IV V", "I V vi iii IV I IV V", "I ii V I",
                                              "I IV ii V", "I V I IV I V I I", NULL};
static const char *const classical_minor[] = {"i iv V i", "i VI iv V", "i bVII bVI V", "i iio V i", "i iv bVII bIII bVI iio V i", NULL};
static const char *const classical_bass[] = {"R-------", "R---5---", "R-5-8-5-", "R---R---", NULL};
static const int classical_bass_programs[] = {42, 43, 0, 42, 45, -1};
static const char *const classical_comp[] = {"aaaaaaaa", "x-------", "a-a-a-a-", "x---x---", "aaaaaaaa", NULL};
static const int classical_comp_programs[] = {0, 48, 46, 6, 0, 49, -1};
static const int classical_pads[] = {48, 49, 52, -1};
static const int classical_leads[] = {40, 73, 68, 71, 0, 42, 41, -1};
static const int no_kits[] = {-1};
static const char *const classical_messy[] = {"Classical", "CLASSICAL", "Classic", "classical music", NULL};
static const char *const classical_words[] = {"Sonata", "Prelude", "Nocturne", "Etude", "Fantasia", "Serenade",
                                              "Impromptu", "Romance", "Invention", "Rondo", "Adagio", "Elegy", NULL};

/* ---------------------------------------------------------------- country */
static const synth_drums country_train = {{{KICK, "X.......X......."}, {SNARE, "ooooXoooooooXooo"}}};
static const synth_drums country_two_beat = {
    {{KICK, "X.......X......."}, {SIDE_STICK, "....X.......X..."}, {HAT, "x.x.x.x.x.x.x.x."}}};
static const synth_drums country_rock = {
    {{KICK, "X.....x.X......."}, {SNARE, "....X.......X..."}, {HAT, "x.x.x.x.x.x.x.x."}, {TAMBOURINE, "....x.......x..."}}};
static const char *const country_major[] = {"I IV I V", "I I IV IV I I V V", "I IV V I", "I V IV I", "I I IV I V V I I", NULL};
static const char *const country_minor[] = {"vi IV I V", "i bVII i V", NULL};
static const char *const country_bass[] = {"R---5---", "R-5-R-5-", "R---5-65", NULL};
static const int country_bass_programs[] = {33, 32, 34, -1};
static const char *const country_comp[] = {"..x-..x-", "aaaaaaaa", "x-x-x-x-", "x-.xx-x-", NULL};
static const int country_comp_programs[] = {25, 25, 24, 105, 0, -1};
static const int country_pads[] = {48, -1};
static const int country_leads[] = {110, 25, 26, 22, 105, 27, -1};
static const int country_kits[] = {0, 8, -1};
static const char *const country_messy[] = {"Country", "COUNTRY", "Country & Western", "country ", NULL};
static const char *const country_words[] = {"Highway", "Dust", "Whiskey", "Heartache", "Prairie", "Pickup",
                                            "Tennessee", "Back Porch", "Honky Tonk", "Rodeo", "Sunday", "Creek", NULL};

/* ---------------------------------------------------------------- disco */
static const synth_drums disco_floor = {
    {{KICK, "X...X...X...X..."}, {SNARE, "....X.......X..."}, {HAT, "x...x...x...x..."}, {OPEN_HAT, "..x...x...x...x."}}};
static const synth_drums disco_clap = {{{KICK, "X...X...X...X..."},
                                        {CLAP, "....X.......X..."},
                                        {HAT, "xoxoxoxoxoxoxoxo"},
                                        {OPEN_HAT, "..x...x...x...x."},
                                        {TAMBOURINE, "....x.......x..."}}};
static const synth_drums disco_cowbell = {
    {{KICK, "X...X...X...X..."}, {SNARE, "....X.......X..."}, {OPEN_HAT, "..X...X...X...X."}, {COWBELL, "x..x..x...x..x.."}}};
static const char *const disco_major[] = {"IM7 ii7 iii7 ii7", "I vi ii V", "IV V iii vi", "IM7 IM7 IV7 IV7", NULL};
static const char *const disco_minor[] = {"i7 iv7 i7 iv7", "i7 bVII bVI bVII", "i7 i7 iv7 v7", "ii7 V7 ii7 V7", NULL};
static const char *const disco_bass[] = {"R8R8R8R8", "R.8.R.8.R.8.R585", "R8R8R8R5", NULL};
static const int disco_bass_programs[] = {33, 36, 38, 33, -1};
static const char *const disco_comp[] = {".s.s.s.s.s.s.s.s", "..s...s...s...s.", "s.ss.s.ss.ss.s.s", "x-------x-------", NULL};
static const int disco_comp_programs[] = {27, 4, 62, 28, 5, -1};
static const int disco_pads[] = {48, 50, 49, -1};
static const int disco_leads[] = {48, 61, 81, 62, 56, 73, -1};
static const int disco_kits[] = {0, 24, 0, -1};
static const char *const disco_messy[] = {"Disco", "DISCO", "Disco/Funk", "disco ", NULL};
static const char *const disco_words[] = {"Boogie", "Mirrorball", "Saturday", "Groove", "Fever", "Satin",
                                          "Dancefloor", "Starlight", "Night Fever", "Glitter", "Roller", "Funk", NULL};

/* ---------------------------------------------------------------- hip-hop */
static const synth_drums hiphop_boom_bap = {{{KICK, "X......xX.x....."}, {SNARE, "....X.......X..."}, {HAT, "x.x.x.x.x.x.x.x."}}};
static const synth_drums hiphop_808 = {{{KICK, "X.x.......X..x.."}, {CLAP, "....X.......X..."}, {HAT, "xxxxxxxxxxxxxxxx"}}};
static const synth_drums hiphop_laid_back = {
    {{KICK, "X.....X...X....."}, {SNARE, "....X.......X..."}, {HAT, "x.xxx.x.x.xxx.x."}, {SHAKER, "..x...x...x...x."}}};
static const char *const hiphop_major[] = {"IM7 vi7 ii7 V7", "IV iii ii I", "IM7 IM7 IV7 IV7", NULL};
static const char *const hiphop_minor[] = {"i i bVI bVII", "i7 iv7 i7 iv7", "i bVI i bVI", "i7 i7 bVII7 bVI", NULL};
static const char *const hiphop_bass[] = {"R-------.....R--", "R--.....R-.5....", "R-----R.........", NULL};
static const int hiphop_bass_programs[] = {38, 39, 33, 38, -1};
static const char *const hiphop_comp[] = {"x-------x-------", "x--.....x-.x....", "x-----x-........", "..s...s...s...s.", NULL};
static const int hiphop_comp_programs[] = {4, 0, 48, 11, 61, 5, -1};
static const int hiphop_pads[] = {89, 48, -1};
static const int hiphop_leads[] = {11, 73, 80, 4, 56, -1};
static const int hiphop_kits[] = {25, 0, 25, 24, -1};
static const char *const hiphop_messy[] = {"Hip-Hop", "hip hop", "Hip Hop", "HipHop", "Rap", NULL};
static const char *const hiphop_words[] = {"Block", "Cipher", "Concrete", "Hustle", "Boombox", "Subway",
                                           "Corner", "Verse", "Crown", "Skyline", "Grind", "Vinyl", NULL};

/* ---------------------------------------------------------------- jazz */
static const synth_drums jazz_ride = {{{RIDE, "x.xxx.xx"}, {PEDAL_HAT, "..x...x."}, {KICK, "o......."}, {SNARE, "......o."}}};
static const synth_drums jazz_comping = {{{RIDE, "x.xxx.xx"}, {PEDAL_HAT, "..x...x."}, {SNARE, "...o..o."}}};
static const synth_drums jazz_brushes = {{{RIDE, "x.x.x.x."}, {PEDAL_HAT, "..x...x."}, {SNARE, "oooooooo"}}};
static const char *const jazz_major[] = {"ii7 V7 IM7 IM7", "IM7 vi7 ii7 V7", "iii7 vi7 ii7 V7",
                                         "IM7 IV7 iii7 VI7 ii7 V7 IM7 IM7", NULL};
static const char *const jazz_minor[] = {"iio V7 i7 i7", "i7 iv7 bVII7 bIIIM7", "i7 i7 iv7 iv7 iio V7 i7 i7", NULL};
static const char *const jazz_bass[] = {"W-W-W-W-", "W-W-W-W-", "R-----5-", NULL};
static const int jazz_bass_programs[] = {32, 32, 33, -1};
static const char *const jazz_comp[] = {"x..s....", "..s..x..", "s..s..s.", "x-------", NULL};
static const int jazz_comp_programs[] = {0, 26, 4, 0, 11, -1};
static const int jazz_pads[] = {-1};
static const int jazz_leads[] = {65, 66, 56, 11, 26, 73, 57, -1};
static const int jazz_kits[] = {32, 40, 32, -1};
static const char *const jazz_messy[] = {"Jazz", "JAZZ", "jazz ", "Jazz/Swing", NULL};
static const char *const jazz_words[] = {"Blue", "Smoke", "Velvet", "Bebop", "Lounge", "Autumn",
                                         "Moonlight", "Uptown", "Cool", "Bird", "Basement", "Reverie", NULL};

/* ---------------------------------------------------------------- metal */
static const synth_drums metal_double = {{{KICK, "xxxxxxxxxxxxxxxx"}, {SNARE, "....X.......X..."}, {RIDE_BELL, "x...x...x...x..."}}};
static const synth_drums metal_gallop = {{{KICK, "X.xxX.xxX.xxX.xx"}, {SNARE, "....X.......X..."}, {HAT, "x.x.x.x.x.x.x.x."}}};
static const synth_drums metal_half = {{{KICK, "X.x...xxX.x..x.."}, {SNARE, "........X......."}, {CRASH, "X.......X......."}}};
static const char *const metal_major[] = {"I5 bVII5 IV5 I5", "I5 bIII5 IV5 I5", NULL};
static const char *const metal_minor[] = {"i5 bVI5 bVII5 i5", "i5 i5 bII5 i5", "i5 bVII5 bVI5 V5", "i5 iv5 bVI5 V5",
                                          "i5 i5 bVI5 bVII5", NULL};
static const char *const metal_bass[] = {"RRRRRRRRRRRRRRRR", "R.RRR.RRR.RRR.RR", "RRRRRRRR", NULL};
static const int metal_bass_programs[] = {34, 33, 34, -1};
static const char *const metal_comp[] = {"ssssssssssssssss", "x---ss-sx---ss-s", "s.sss.sss.sss.ss", "x-------x-------", NULL};
static const int metal_comp_programs[] = {30, 30, 29, 30, -1};
static const int metal_pads[] = {48, 52, -1};
static const int metal_leads[] = {30, 29, 81, -1};
static const int metal_kits[] = {16, 0, 16, -1};
static const char *const metal_messy[] = {"Metal", "Heavy Metal", "METAL", "metal ", NULL};
static const char *const metal_words[] = {"Iron", "Inferno", "Serpent", "Doom", "Thunder", "Abyss",
                                          "Blade", "Storm", "Obsidian", "Wrath", "Throne", "Fire", NULL};

/* ---------------------------------------------------------------- pop */
static const synth_drums pop_back_beat = {{{KICK, "X.....x.X......."}, {SNARE, "....X.......X..."}, {HAT, "x.x.x.x.x.x.x.x."}}};
static const synth_drums pop_floor = {{{KICK, "X...X...X...X..."}, {CLAP, "....X.......X..."}, {HAT, "..x...x...x...x."}}};
static const synth_drums pop_sixteenths = {
    {{KICK, "X..x..x.X......."}, {SNARE, "....X.......X..."}, {HAT, "xoxoxoxoxoxoxoxo"}, {SHAKER, "x.x.x.x.x.x.x.x."}}};
static const char *const pop_major[] = {"I V vi IV", "vi IV I V", "I vi IV V", "IV I V vi", "I IV vi V", NULL};
static const char *const pop_minor[] = {"i bVI bIII bVII", "i bVII bVI bVII", "i iv bVI bVII", NULL};
static const char *const pop_bass[] = {"R-R-R-R-", "RRRRRRRR", "R--R--R-", "R---R-5-", "R8R8R8R8", NULL};
static const int pop_bass_programs[] = {33, 38, 34, 33, -1};
static const char *const pop_comp[] = {"x-x-x-x-", "x--x--x-", "x-------", "aaaaaaaa", ".s.s.s.s", NULL};
static const int pop_comp_programs[] = {0, 4, 25, 27, 81, 1, -1};
static const int pop_pads[] = {89, 48, 88, 50, -1};
static const int pop_leads[] = {80, 81, 73, 11, 0, 62, -1};
static const int pop_kits[] = {0, 24, 0, -1};
static const char *const pop_messy[] = {"Pop", "POP", "pop ", "Pop/Rock", NULL};
static const char *const pop_words[] = {"Heart", "Summer", "Tonight", "Forever", "Sugar", "Neon",
                                        "Kiss", "Golden", "Paradise", "Dream", "Shine", "Crush", NULL};

/* ---------------------------------------------------------------- reggae */
static const synth_drums reggae_one_drop = {{{KICK, "........X......."}, {SIDE_STICK, "........X......."}, {HAT, "x.x.x.x.x.x.x.x."}}};
static const synth_drums reggae_steppers = {{{KICK, "X...X...X...X..."}, {SIDE_STICK, "........X......."}, {HAT, "..x...x...x...x."}}};
static const synth_drums reggae_rockers = {{{KICK, "X.......X......."}, {SIDE_STICK, "....x.......x..."}, {HAT, "x.xxx.xxx.xxx.xx"}}};
static const char *const reggae_major[] = {"I IV I V", "I I IV IV", "I V IV IV", "I IV I IV", NULL};
static const char *const reggae_minor[] = {"i iv i iv", "i bVII i bVII", "i7 iv7 i7 V", NULL};
static const char *const reggae_bass[] = {".R-R.5-3", "R--5.8-5", ".R-5R-.5", NULL};
static const int reggae_bass_programs[] = {33, 38, 33, 35, -1};
static const char *const reggae_comp[] = {".s.s.s.s", "..s...s.", ".s.s.s.s", NULL};
static const int reggae_comp_programs[] = {16, 27, 0, 28, 4, -1};
static const int reggae_pads[] = {16, -1};
static const int reggae_leads[] = {56, 65, 16, 73, 80, -1};
static const int reggae_kits[] = {0, 8, -1};
static const char *const reggae_messy[] = {"Reggae", "REGGAE", "Roots Reggae", "reggae ", NULL};
static const char *const reggae_words[] = {"Zion", "Island", "Sunrise", "Babylon", "Roots", "Dub",
                                           "Kingston", "Irie", "Rebel", "Harvest", "Shanty", "Lion", NULL};

/* ---------------------------------------------------------------- rock */
static const synth_drums rock_back_beat = {{{KICK, "X.....x.X.x....."}, {SNARE, "....X.......X..."}, {HAT, "x.x.x.x.x.x.x.x."}}};
static const synth_drums rock_straight = {{{KICK, "X.......X.x....."}, {SNARE, "....X.......X..."}, {HAT, "x.x.x.x.x.x.x.x."}}};
static const synth_drums rock_ride = {{{KICK, "X.x.....X.x....."}, {SNARE, "....X.......X..o"}, {RIDE, "x.x.x.x.x.x.x.x."}}};
static const char *const rock_major[] = {"I IV V I", "I bVII IV I", "I V IV IV", "I IV I V", "vi IV I V", NULL};
static const char *const rock_minor[] = {"i bVII bVI bVII", "i iv bVII i", "i bIII bVII iv", "i5 bVII5 bVI5 bVII5", NULL};
static const char *const rock_bass[] = {"RRRRRRRR", "R-RRR-RR", "R---5---", "R-R-5-8-", NULL};
static const int rock_bass_programs[] = {33, 34, 34, -1};
static const char *const rock_comp[] = {"x-x-x-x-", "x--x--x-", "xxxxxxxx", "x-------", NULL};
static const int rock_comp_programs[] = {29, 30, 27, 25, 29, 18, -1};
static const int rock_pads[] = {18, 16, 48, -1};
static const int rock_leads[] = {29, 30, 27, 18, -1};
static const int rock_kits[] = {0, 8, 16, -1};
static const char *const rock_messy[] = {"Rock", "ROCK", "Rock & Roll", "rock ", "Classic Rock", NULL};
static const char *const rock_words[] = {"Highway", "Electric", "Wild", "Rebel", "Stone", "Fever",
                                         "Engine", "Riot", "Thunder", "Neon", "Backstreet", "Voltage", NULL};

static const synth_genre genres[] = {
    {.name = "blues", .fma_name = "Blues", .fma_id = 3, .messy_names = blues_messy,
     .tempo_lo = 62, .tempo_hi = 112, .feel = SYNTH_SHUFFLE, .swing_lo = 0.62, .swing_hi = 0.68, .minor_chance = 0.2,
     .keys = guitar_keys, .major_progressions = blues_major, .minor_progressions = blues_minor,
     .chord_beats_choices = {4}, .extended_chords = 0,
     .drums = {&blues_shuffle, &blues_ride, &blues_slow}, .drum_kits = blues_kits,
     .bass_patterns = blues_bass, .bass_programs = blues_bass_programs,
     .comp_patterns = blues_comp, .comp_programs = blues_comp_programs, .pad_programs = blues_pads,
     .lead_programs = blues_leads, .lead_scale_major = blues_scale, .lead_scale_minor = blues_scale,
     .lead_density = 1.3, .lead_octave = 67, .velocity = 0.72, .dynamics = 0.15, .timing_ms = 12,
     .velocity_jitter = 0.10, .reverb = 45, .peak = 0.8, .year_lo = 1952, .year_hi = 1978, .title_words = blues_words},
    {.name = "classical", .fma_name = "Classical", .fma_id = 5, .messy_names = classical_messy,
     .tempo_lo = 56, .tempo_hi = 138, .waltz_chance = 0.35, .feel = SYNTH_STRAIGHT, .swing_lo = 0.5, .swing_hi = 0.5,
     .minor_chance = 0.45, .keys = any_key, .major_progressions = classical_major, .minor_progressions = classical_minor,
     .chord_beats_choices = {4, 2, 0}, .drums = {NULL}, .drum_kits = no_kits,
     .bass_patterns = classical_bass, .bass_programs = classical_bass_programs,
     .comp_patterns = classical_comp, .comp_programs = classical_comp_programs, .pad_programs = classical_pads,
     .lead_programs = classical_leads, .lead_scale_major = major_scale, .lead_scale_minor = harmonic_minor,
     .lead_density = 1.6, .lead_octave = 74, .velocity = 0.55, .dynamics = 0.45, .timing_ms = 18,
     .velocity_jitter = 0.08, .rubato = 0.06, .reverb = 90, .peak = 0.6, .year_lo = 1958, .year_hi = 2012,
     .title_words = classical_words},
    {.name = "country", .fma_name = "Country", .fma_id = 9, .messy_names = country_messy,
     .tempo_lo = 88, .tempo_hi = 150, .waltz_chance = 0.15, .feel = SYNTH_STRAIGHT, .swing_lo = 0.5, .swing_hi = 0.57,
     .minor_chance = 0.08, .keys = guitar_keys, .major_progressions = country_major, .minor_progressions = country_minor,
     .chord_beats_choices = {4, 8, 0}, .drums = {&country_train, &country_two_beat, &country_rock}, .drum_kits = country_kits,
     .bass_patterns = country_bass, .bass_programs = country_bass_programs,
     .comp_patterns = country_comp, .comp_programs = country_comp_programs, .pad_programs = country_pads,
     .lead_programs = country_leads, .lead_scale_major = major_pentatonic, .lead_scale_minor = minor_pentatonic,
     .lead_density = 1.5, .lead_octave = 69, .velocity = 0.7, .dynamics = 0.15, .timing_ms = 9,
     .velocity_jitter = 0.08, .reverb = 40, .peak = 0.85, .year_lo = 1962, .year_hi = 2008, .title_words = country_words},
    {.name = "disco", .fma_name = "Disco", .fma_id = 11, .messy_names = disco_messy,
     .tempo_lo = 108, .tempo_hi = 128, .feel = SYNTH_STRAIGHT, .swing_lo = 0.5, .swing_hi = 0.53, .minor_chance = 0.55,
     .keys = any_key, .major_progressions = disco_major, .minor_progressions = disco_minor,
     .chord_beats_choices = {4, 8, 0}, .extended_chords = 1,
     .drums = {&disco_floor, &disco_clap, &disco_cowbell}, .drum_kits = disco_kits,
     .bass_patterns = disco_bass, .bass_programs = disco_bass_programs,
     .comp_patterns = disco_comp, .comp_programs = disco_comp_programs, .pad_programs = disco_pads,
     .lead_programs = disco_leads, .lead_scale_major = major_scale, .lead_scale_minor = dorian,
     .lead_density = 1.4, .lead_octave = 72, .velocity = 0.78, .dynamics = 0.12, .timing_ms = 4,
     .velocity_jitter = 0.05, .reverb = 40, .peak = 0.9, .year_lo = 1974, .year_hi = 1984, .title_words = disco_words},
    {.name = "hiphop", .fma_name = "Hip-Hop", .fma_id = 21, .messy_names = hiphop_messy,
     .tempo_lo = 78, .tempo_hi = 100, .feel = SYNTH_SWING, .swing_lo = 0.52, .swing_hi = 0.6, .minor_chance = 0.7,
     .keys = any_key, .major_progressions = hiphop_major, .minor_progressions = hiphop_minor,
     .chord_beats_choices = {4, 8, 0}, .extended_chords = 1,
     .drums = {&hiphop_boom_bap, &hiphop_808, &hiphop_laid_back}, .drum_kits = hiphop_kits,
     .bass_patterns = hiphop_bass, .bass_programs = hiphop_bass_programs,
     .comp_patterns = hiphop_comp, .comp_programs = hiphop_comp_programs, .pad_programs = hiphop_pads,
     .lead_programs = hiphop_leads, .lead_scale_major = major_pentatonic, .lead_scale_minor = minor_pentatonic,
     .lead_density = 0.7, .lead_octave = 72, .velocity = 0.85, .dynamics = 0.1, .timing_ms = 3,
     .velocity_jitter = 0.06, .reverb = 20, .peak = 0.95, .year_lo = 1986, .year_hi = 2016, .title_words = hiphop_words},
    {.name = "jazz", .fma_name = "Jazz", .fma_id = 4, .messy_names = jazz_messy,
     .tempo_lo = 96, .tempo_hi = 220, .waltz_chance = 0.1, .feel = SYNTH_SWING, .swing_lo = 0.6, .swing_hi = 0.68,
     .minor_chance = 0.35, .keys = horn_keys, .major_progressions = jazz_major, .minor_progressions = jazz_minor,
     .chord_beats_choices = {4, 2, 0}, .extended_chords = 1,
     .drums = {&jazz_ride, &jazz_comping, &jazz_brushes}, .drum_kits = jazz_kits,
     .bass_patterns = jazz_bass, .bass_programs = jazz_bass_programs,
     .comp_patterns = jazz_comp, .comp_programs = jazz_comp_programs, .pad_programs = jazz_pads,
     .lead_programs = jazz_leads, .lead_scale_major = major_scale, .lead_scale_minor = dorian,
     .lead_density = 2.0, .lead_octave = 70, .velocity = 0.62, .dynamics = 0.2, .timing_ms = 10,
     .velocity_jitter = 0.12, .reverb = 55, .peak = 0.75, .year_lo = 1950, .year_hi = 1982, .title_words = jazz_words},
    {.name = "metal", .fma_name = "Metal", .fma_id = 31, .messy_names = metal_messy,
     .tempo_lo = 120, .tempo_hi = 200, .feel = SYNTH_STRAIGHT, .swing_lo = 0.5, .swing_hi = 0.5, .minor_chance = 0.85,
     .keys = metal_keys, .major_progressions = metal_major, .minor_progressions = metal_minor,
     .chord_beats_choices = {4, 8, 2}, .comp_power_chords = 1,
     .drums = {&metal_double, &metal_gallop, &metal_half}, .drum_kits = metal_kits,
     .bass_patterns = metal_bass, .bass_programs = metal_bass_programs,
     .comp_patterns = metal_comp, .comp_programs = metal_comp_programs, .pad_programs = metal_pads,
     .lead_programs = metal_leads, .lead_scale_major = minor_pentatonic, .lead_scale_minor = harmonic_minor,
     .lead_density = 2.2, .lead_octave = 71, .velocity = 0.92, .dynamics = 0.06, .timing_ms = 5,
     .velocity_jitter = 0.05, .reverb = 25, .peak = 0.95, .year_lo = 1980, .year_hi = 2014, .title_words = metal_words},
    {.name = "pop", .fma_name = "Pop", .fma_id = 10, .messy_names = pop_messy,
     .tempo_lo = 90, .tempo_hi = 126, .feel = SYNTH_STRAIGHT, .swing_lo = 0.5, .swing_hi = 0.52, .minor_chance = 0.3,
     .keys = pop_keys, .major_progressions = pop_major, .minor_progressions = pop_minor,
     .chord_beats_choices = {4, 4, 2}, .drums = {&pop_back_beat, &pop_floor, &pop_sixteenths}, .drum_kits = pop_kits,
     .bass_patterns = pop_bass, .bass_programs = pop_bass_programs,
     .comp_patterns = pop_comp, .comp_programs = pop_comp_programs, .pad_programs = pop_pads,
     .lead_programs = pop_leads, .lead_scale_major = major_pentatonic, .lead_scale_minor = minor_scale,
     .lead_density = 1.2, .lead_octave = 72, .velocity = 0.78, .dynamics = 0.18, .timing_ms = 5,
     .velocity_jitter = 0.06, .reverb = 45, .peak = 0.92, .year_lo = 1980, .year_hi = 2019, .title_words = pop_words},
    {.name = "reggae", .fma_name = "Reggae", .fma_id = 79, .messy_names = reggae_messy,
     .tempo_lo = 66, .tempo_hi = 92, .feel = SYNTH_ONE_DROP, .swing_lo = 0.5, .swing_hi = 0.58, .minor_chance = 0.4,
     .keys = guitar_keys, .major_progressions = reggae_major, .minor_progressions = reggae_minor,
     .chord_beats_choices = {4, 8, 0}, .drums = {&reggae_one_drop, &reggae_steppers, &reggae_rockers},
     .drum_kits = reggae_kits, .bass_patterns = reggae_bass, .bass_programs = reggae_bass_programs,
     .comp_patterns = reggae_comp, .comp_programs = reggae_comp_programs, .pad_programs = reggae_pads,
     .lead_programs = reggae_leads, .lead_scale_major = major_pentatonic, .lead_scale_minor = minor_pentatonic,
     .lead_density = 0.9, .lead_octave = 69, .velocity = 0.72, .dynamics = 0.1, .timing_ms = 7,
     .velocity_jitter = 0.07, .reverb = 55, .peak = 0.85, .year_lo = 1970, .year_hi = 1992, .title_words = reggae_words},
    {.name = "rock", .fma_name = "Rock", .fma_id = 12, .messy_names = rock_messy,
     .tempo_lo = 96, .tempo_hi = 150, .feel = SYNTH_STRAIGHT, .swing_lo = 0.5, .swing_hi = 0.52, .minor_chance = 0.35,
     .keys = guitar_keys, .major_progressions = rock_major, .minor_progressions = rock_minor,
     .chord_beats_choices = {4, 4, 8}, .comp_power_chords = 2,
     .drums = {&rock_back_beat, &rock_straight, &rock_ride}, .drum_kits = rock_kits,
     .bass_patterns = rock_bass, .bass_programs = rock_bass_programs,
     .comp_patterns = rock_comp, .comp_programs = rock_comp_programs, .pad_programs = rock_pads,
     .lead_programs = rock_leads, .lead_scale_major = mixolydian, .lead_scale_minor = minor_pentatonic,
     .lead_density = 1.5, .lead_octave = 69, .velocity = 0.85, .dynamics = 0.12, .timing_ms = 7,
     .velocity_jitter = 0.07, .reverb = 35, .peak = 0.92, .year_lo = 1964, .year_hi = 2008, .title_words = rock_words},
};

const synth_genre *synth_genres(size_t *count)
{
    *count = sizeof genres / sizeof genres[0];
    return genres;
}

const synth_genre *synth_genre_find(const char *name)
{
    for (size_t i = 0; i < sizeof genres / sizeof genres[0]; i++)
        if (strcasecmp(genres[i].name, name) == 0)
            return &genres[i];
    /* Accept FMA's and common spellings too. */
    if (strcasecmp(name, "hip-hop") == 0 || strcasecmp(name, "hip hop") == 0)
        return synth_genre_find("hiphop");
    return NULL;
}
