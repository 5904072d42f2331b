-- orders have amount, not total
select order_id,
       total
from orders
