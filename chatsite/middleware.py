"""WhiteNoise's middleware made async-capable through Django's middleware flags (a subclass, nothing patched).

WhiteNoise 6 is sync-only, and one sync middleware makes Django run the whole chain below it in a
thread and call every async view back through async_to_sync: two thread hops per request, all on
one thread (thread_sensitive). The API's async views (chat_api) paid that on every call; here only a
request for a static file goes to a thread, everything else stays on the event loop.
"""

from __future__ import annotations

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from whitenoise.middleware import WhiteNoiseMiddleware


class AsyncWhiteNoiseMiddleware(WhiteNoiseMiddleware):
    sync_capable = True
    async_capable = True

    def __init__(self, get_response=None, settings=settings):
        super().__init__(get_response, settings)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self._acall(request)
        return super().__call__(request)

    async def _acall(self, request):
        static_file = self.find_file(request.path_info) if self.autorefresh else self.files.get(request.path_info)
        if static_file is not None:
            return await sync_to_async(self.serve)(static_file, request)  # opens the file: in a thread
        return await self.get_response(request)
