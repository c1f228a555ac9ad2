"""The caller's own account: who they are, their plan and balance, and their credit ledger."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from api.v1.problems import responses
from api.v1.schemas import CreditEntryOut, Ledger, MeOut
from models import User
from services import Services


def router(services: Services, api_user) -> APIRouter:
    routes = APIRouter(tags=['account'])

    @routes.get('/me', response_model=MeOut, responses=responses(401))
    async def me(user: User = Depends(api_user)) -> MeOut:
        """The caller: email, plan and credit balance."""
        return MeOut.of(user, await services.db.call(services.credits.balance, user.id))

    @routes.get('/me/credits', response_model=Ledger, responses=responses(401, 422))
    async def my_credits(user: User = Depends(api_user), limit: int = Query(50, ge=1, le=500)) -> Ledger:
        """The caller's credit ledger, newest first: grants, reserves and refunds."""
        balance = await services.db.call(services.credits.balance, user.id)
        entries = await services.db.call(services.credits.ledger, user.id, limit)
        return Ledger(balance=balance, entries=[CreditEntryOut.of(entry) for entry in entries])

    return routes
