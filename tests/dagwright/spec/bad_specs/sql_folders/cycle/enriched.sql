select * from cleaned
