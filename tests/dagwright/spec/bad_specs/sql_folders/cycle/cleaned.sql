select * from enriched
