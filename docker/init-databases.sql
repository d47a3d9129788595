-- Run once by the postgres image on an empty data volume (mounted into /docker-entrypoint-initdb.d).
CREATE DATABASE hydra;
CREATE DATABASE audience_login;
