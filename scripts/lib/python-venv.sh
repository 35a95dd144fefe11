# Shared by the project's scripts: a Python virtual environment under target/ holding pinned PyPI
# packages, rebuilt only when it is missing, incomplete or pinned differently.

# ensure_python_venv DIR "REQUIREMENTS" CHECK — CHECK is Python code (an import, say) that must run
# after installing; the marker file is written only then, so a failed install is retried next time.
ensure_python_venv() {
    local venv="$1" requirements="$2" check="$3"
    local marker="$venv/.relay-requirements"
    if [ -x "$venv/bin/python" ] && [ "$(cat "$marker" 2>/dev/null)" = "$requirements" ]; then
        return 0
    fi
    echo "Installing $requirements into ${venv#"$PWD/"}" >&2
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv" || return 1
    # shellcheck disable=SC2086 # the requirement line is a list of words on purpose
    "$venv/bin/python" -m pip install -q --disable-pip-version-check $requirements || return 1
    "$venv/bin/python" -c "$check" || return 1
    printf '%s\n' "$requirements" >"$marker"
}
