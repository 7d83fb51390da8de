DROP TABLE broadcasts;
DROP TABLE links;
