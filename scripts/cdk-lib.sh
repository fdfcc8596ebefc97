# Shared by cdk-test.sh and cdk-synth-app.sh (sourced, not run): the offline environment, cached
# npm installs, cfn-lint, and timed steps. Expects $root (this repository).

cfn_lint_version="1.58.0"
started=$SECONDS

# Prints a step with the seconds since the script started.
step() {
  echo "== [$((SECONDS - started))s] $*" >&2
}

# No credentials and no account lookups: a synth must not need AWS.
offline_aws() {
  unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_ENDPOINT_URL
  export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
  export CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=true
}

# Installs DIR's npm dependencies when they may have changed: with `npm ci` when there is a
# lockfile (and `npm install`, which writes one, when there is none). "Changed" means no
# node_modules yet, or package.json, the lockfile or a `file:` dependency's folder (the
# construct) newer than npm's own record of the last install, node_modules/.package-lock.json.
npm_deps() {
  local dir="$1" marker="$1/node_modules/.package-lock.json" stale=""
  if [ ! -f "$marker" ] || [ ! -f "$dir/package-lock.json" ] || [ "$dir/package.json" -nt "$marker" ] ||
    [ "$dir/package-lock.json" -nt "$marker" ]; then
    stale=1
  else
    local dep
    while IFS= read -r dep; do
      if [ -n "$(find "$dep" -path "$dep/node_modules" -prune -o -type f -newer "$marker" -print -quit)" ]; then
        stale=1
      fi
    done < <(file_deps "$dir")
  fi
  [ -z "$stale" ] && return 0
  if [ -f "$dir/package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  else
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}

# The folders of DIR's `file:` dependencies, one a line.
file_deps() {
  node -e '
    const path = require("path");
    const pkg = require(path.resolve(process.argv[1], "package.json"));
    const deps = { ...pkg.dependencies, ...pkg.devDependencies };
    for (const spec of Object.values(deps)) {
      if (spec.startsWith("file:")) console.log(path.resolve(process.argv[1], spec.slice(5)));
    }' "$1"
}

# cfn-lint (PyPI, pinned, installed into .local/cfn-lint) on the given templates.
cfn_lint() {
  local venv="$root/.local/cfn-lint"
  if ! "$venv/bin/cfn-lint" --version 2>/dev/null | grep -q "$cfn_lint_version"; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "cfn-lint==$cfn_lint_version" >&2
  fi
  # W3005 ("dependency already enforced by a GetAtt"): CDK adds an explicit DependsOn from each
  # Lambda and state machine to its role next to the role's GetAtt. Redundant, harmless, not ours.
  "$venv/bin/cfn-lint" --ignore-checks W3005 -- "$@"
}
