# Shared by the project's scripts: the Python environment of the MongoDB wire-protocol test server
# (tests/mongo/wire_server.py). Creates target/mongo-venv with the pinned packages when it is missing or
# incomplete, then exports RELAY_MONGO_TEST_PYTHON, the venv's interpreter, for the tests to run it with.

MONGO_TEST_SERVER_REQUIREMENTS="mockupdb==1.8.1 mongomock==4.3.0 pymongo==4.20.0"

ensure_mongo_test_server() {
    local venv="$PWD/target/mongo-venv"
    local marker="$venv/.relay-requirements"
    if [ ! -x "$venv/bin/python" ] || [ "$(cat "$marker" 2>/dev/null)" != "$MONGO_TEST_SERVER_REQUIREMENTS" ]; then
        echo "Installing the MongoDB test server's Python packages into target/mongo-venv" >&2
        rm -rf "$venv"
        mkdir -p "$PWD/target"
        python3 -m venv "$venv" || return 1
        # shellcheck disable=SC2086 # the requirement line is a list of words on purpose
        "$venv/bin/python" -m pip install -q --disable-pip-version-check $MONGO_TEST_SERVER_REQUIREMENTS || return 1
        "$venv/bin/python" -c 'import mockupdb, mongomock, bson' || return 1
        printf '%s\n' "$MONGO_TEST_SERVER_REQUIREMENTS" >"$marker"
    fi
    export RELAY_MONGO_TEST_PYTHON="$venv/bin/python"
}
