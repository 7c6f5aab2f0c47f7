-- Prediction jobs: a file of inputs run through one model version in the background. The input
-- and the results live under the data directory (jobs/<id>/); this row holds the job's state and
-- progress. `answer_columns` is the JSON list of the answers' fields seen so far, the results
-- CSV's columns. No foreign keys: a job outlives the deletion of its model version (it then
-- fails) and keeps its owner's name for listings.
CREATE TABLE prediction_jobs (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    owner_name TEXT NOT NULL,
    model_name TEXT NOT NULL,
    model_version TEXT NOT NULL,
    input_kind TEXT NOT NULL,
    state TEXT NOT NULL,
    rows_total BIGINT,
    rows_done BIGINT NOT NULL,
    rows_failed BIGINT NOT NULL,
    answer_columns TEXT NOT NULL,
    error TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT
);
CREATE INDEX prediction_jobs_by_owner ON prediction_jobs (owner_id);
CREATE INDEX prediction_jobs_by_state ON prediction_jobs (state);
