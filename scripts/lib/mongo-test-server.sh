# Shared by the project's scripts: the Python environment of the MongoDB wire-protocol test server
# (tests/mongo/wire_server.py). Creates target/mongo-venv with the pinned packages when it is missing or
# incomplete, then exports RELAY_MONGO_TEST_PYTHON, the venv's interpreter, for the tests to run it with.

source "$(dirname "${BASH_SOURCE[0]}")/python-venv.sh"

MONGO_TEST_SERVER_REQUIREMENTS="mockupdb==1.8.1 mongomock==4.3.0 pymongo==4.20.0"

ensure_mongo_test_server() {
    ensure_python_venv "$PWD/target/mongo-venv" "$MONGO_TEST_SERVER_REQUIREMENTS" \
        'import mockupdb, mongomock, bson' || return 1
    export RELAY_MONGO_TEST_PYTHON="$PWD/target/mongo-venv/bin/python"
}
