from gateway.state import StateDB
from gateway.migrations import status, head
def test_smoke(state_url):
    db = StateDB(state_url)
    assert status(db).at_head
    db.close()
    db = StateDB(state_url)
    print(db.query("SELECT COUNT(*) AS n FROM alerts"), head())
    db.close()
