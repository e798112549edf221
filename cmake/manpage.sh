#!/bin/sh
# Writes musicmap(1) in man(7) roff from the program's own help: `musicmap --help` gives the synopsis
# and the list of commands, `musicmap COMMAND --help` each command's section. Generating it at build
# time keeps the page from drifting from the options the program really has.
#   manpage.sh PATH/TO/musicmap OUT.1
set -eu
bin=$1
out=$2
tmp="$out.tmp"

# roff-safe text: backslashes, hyphens (so options copy and paste as ASCII), and lines that would
# otherwise start a request
escape() {
    sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
}

version=$("$bin" --version | sed -n '1s/^musicmap //p')
help=$("$bin" --help)
# "  NAME   description" lines between "Commands:" and the next blank line
commands=$(printf '%s\n' "$help" | awk '/^Commands:/ {on = 1; next} on && /^$/ {exit} on {print $1}')
[ -n "$commands" ] || { echo "manpage.sh: no commands in '$bin --help'" >&2; exit 1; }
summary=$(printf '%s\n' "$help" | sed -n '1s/^musicmap [^:]*: //p')

{
    printf '.TH MUSICMAP 1 "" "musicmap %s" "User Commands"\n' "$version"
    printf '.SH NAME\nmusicmap \\- %s\n' "$(printf '%s\n' "$summary" | sed 's/\.$//' | escape)"
    printf '.SH SYNOPSIS\n.nf\n'
    printf '%s\n' "$help" | sed -n 's/^\(Usage:\)\{0,1\} *\(musicmap .*\)$/\2/p' | sed '1d' | escape
    printf '.fi\n.SH DESCRIPTION\n'
    printf 'musicmap catalogues the audio files of a collection, describes each song (log\\-mel spectrogram,\n'
    printf 'audio descriptors, optionally a genre network), lays the songs out with PCA, t\\-SNE or UMAP and\n'
    printf 'serves the map as a web page on which clicking a point plays the song.\n'
    printf 'Each step is a command; \\fBmusicmap run\\fR does them all.\n'
    printf '.SH COMMANDS\n'
    printf '%s\n' "$help" | awk '/^Commands:/ {on = 1; next} on && /^$/ {exit} on {
        name = $1; sub(/^ *[^ ]+ +/, ""); printf ".TP\n.B %s\n%s\n", name, $0 }' | sed 's/\\/\\e/g; s/-/\\-/g'
    printf '.SH "COMMAND OPTIONS"\n'
    for c in $commands; do
        printf '.SS "musicmap %s"\n.nf\n' "$(printf '%s\n' "$c" | escape)"
        "$bin" "$c" --help | escape
        printf '.fi\n'
    done
    printf '.SH "EXIT STATUS"\n'
    printf '%s\n' "$help" | sed -n 's/^Exit status: //p' | escape
    printf '.SH FILES\n.TP\n.I $XDG_DATA_HOME/musicmap/library.db\n'
    printf 'The default catalog (\\fI~/.local/share/musicmap/library.db\\fR when XDG_DATA_HOME is unset),\n'
    printf 'with its spectrograms beside it in \\fIlibrary.features\\fR; \\fB\\-\\-db\\fR chooses another.\n'
    printf '.SH "SEE ALSO"\nThe documentation in the source tree: README.md and docs/.\n'
} > "$tmp"
mv "$tmp" "$out"
