def test_it_lists_jobs(manager, make_job):
    make_job(message="hello", agent_id="a1")
    response = manager.get("/ai-service/acme/jobs")
    assert response.status_code == 200
    assert response.body[0]["message"] == "hello"
