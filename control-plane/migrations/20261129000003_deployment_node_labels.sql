-- Labels a node must carry to run a deployment (e.g. site=north, to run near its sensors), as JSON.
ALTER TABLE deployments ADD COLUMN node_labels TEXT;
