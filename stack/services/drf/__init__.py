"""Django REST framework service with djangorestframework-simplejwt: login by email, access/refresh."""
