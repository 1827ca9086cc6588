#!/bin/sh
# grader-service pre-receive hook: refuse pushes that break the push policy.
#
# grader-service writes this file into its hooks directory at every start; every push
# runs it through core.hooksPath. The limits come from the push's environment, so they
# always match the current settings:
#   GRADER_MAX_FILE_SIZE   largest blob in bytes, in any pushed commit
#   GRADER_MAX_FILE_COUNT  most files in the pushed tree
#   GRADER_ALLOWED_GLOBS   newline-separated patterns files must match (unset: any file)
#   GRADER_ALLOWED_PATHS   newline-separated paths allowed whatever their name
# Output goes to the pusher's terminal ("remote: ..."); exiting non-zero refuses the
# whole push and leaves the repository unchanged. A shell script, not Python, because
# it runs for every push and must start in a millisecond.
set -f  # no pathname expansion: paths and patterns are data
newline='
'
report=""
# Every push pays for this hook, so the common case costs two git processes: one walk
# over the new objects (rev-list leaves out blobs above the limit and names them with a
# "~"), one listing of the tree. Paths and sizes are looked up only for a refusal.
while read -r old new ref; do
    case "$new" in *[!0]*) ;; *) continue ;; esac  # a deletion adds no content
    oversize=""
    IFS=$newline
    for object in $(git rev-list --objects --no-object-names \
        --filter=blob:limit=$((GRADER_MAX_FILE_SIZE + 1)) --filter-print-omitted \
        "$new" --not --all); do
        case "$object" in "~"*) oversize=1; break ;; esac
    done
    unset IFS
    if [ -n "$oversize" ]; then
        big=$(git rev-list --objects "$new" --not --all |
            git cat-file --batch-check='%(objecttype) %(objectsize) %(rest)' |
            awk -v max="$GRADER_MAX_FILE_SIZE" -v ref="$ref" '
                $1 == "blob" && $2 + 0 > max + 0 {
                    path = $0; sub(/^[^ ]+ [^ ]+ /, "", path)
                    printf "  - %s: %s: %.1f MiB is larger than the limit of %.1f MiB\n",
                        ref, path, $2 / 1048576, max / 1048576
                }')
        [ -n "$big" ] && report="$report$big$newline"
    fi
    files=$(git ls-tree -r --name-only "$new")
    IFS=$newline
    set -- $files  # one argument per path (pathname expansion is off)
    unset IFS
    count=$#
    if [ "$count" -gt "$GRADER_MAX_FILE_COUNT" ]; then
        report="$report  - $ref: $count files is more than the limit of $GRADER_MAX_FILE_COUNT files$newline"
    fi
    if [ -n "${GRADER_ALLOWED_GLOBS+set}" ]; then
        IFS=$newline
        for path in $files; do
            ok=""
            for allowed in ${GRADER_ALLOWED_PATHS:-}; do
                [ "$path" = "$allowed" ] && ok=1 && break
            done
            if [ -z "$ok" ]; then
                name=${path##*/}
                for pattern in $GRADER_ALLOWED_GLOBS; do
                    case "$path" in $pattern) ok=1; break ;; esac
                    case "$name" in $pattern) ok=1; break ;; esac
                done
            fi
            if [ -z "$ok" ]; then
                allowed_list=$(printf '%s' "$GRADER_ALLOWED_GLOBS" | tr '\n' ',' | sed 's/,/, /g')
                report="$report  - $ref: $path: this file type may not be submitted (allowed: $allowed_list)$newline"
            fi
        done
        unset IFS
    fi
done
if [ -n "$report" ]; then
    echo "grader-service refused this push:" >&2
    printf '%s' "$report" >&2
    echo "Remove or shrink these files, commit, and push again." >&2
    exit 1
fi
exit 0
