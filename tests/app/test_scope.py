"""Community scope from UserScope rows: secretaries one community, canvassers several,
supervisors (督导) whole streets; analysts and admins the whole city."""

from sqlmodel import select

from survey_app import scope
from survey_app.models import Community, Role, User, UserScope

from .factories import make_geo, make_user


def _visible(session, user):
    return set(
        session.exec(select(Community.id).where(scope.community_filter(user, Community.id))).all()
    )


def test_scope_rows_answer_which_communities_a_user_sees(app, session):
    first = make_geo(session, communities=2)
    second = make_geo(session, communities=3)
    everything = {c.id for c in first + second}

    secretary = make_user(session, Role.SECRETARY, first[0])
    assert scope.community_ids(secretary, session=session) == {first[0].id}
    assert _visible(session, secretary) == {first[0].id}

    canvasser = make_user(session, Role.CANVASSER, first[0])
    session.add(UserScope(user_id=canvasser.id, community_id=second[1].id))
    session.commit()
    assert scope.community_ids(canvasser, session=session) == {first[0].id, second[1].id}
    assert _visible(session, canvasser) == {first[0].id, second[1].id}

    supervisor = make_user(session, Role.SUPERVISOR, first[1])
    session.add(UserScope(user_id=supervisor.id, street_id=second[0].street_id))
    session.commit()
    expected = {c.id for c in second} | {first[1].id}
    assert scope.community_ids(supervisor, session=session) == expected
    assert _visible(session, supervisor) == expected
    assert scope.can_see(supervisor, second[2].id, session=session)
    assert not scope.can_see(supervisor, first[0].id, session=session)

    analyst = make_user(session, Role.ANALYST)
    assert scope.community_ids(analyst, session=session) is None
    assert _visible(session, analyst) == everything


def test_require_community_refuses_outside_scope_as_not_found(app, session):
    import pytest

    from survey_app.errors import NotFound

    first, second = make_geo(session, communities=2)
    canvasser = make_user(session, Role.CANVASSER, first)
    with pytest.raises(NotFound):
        scope.require_community(canvasser, second.id, session=session)
    session.add(UserScope(user_id=canvasser.id, community_id=second.id))
    session.commit()
    scope.require_community(canvasser, second.id, session=session)


def test_a_user_without_scope_rows_sees_nothing(app, session):
    make_geo(session)
    user = User(username="nobody", display_name="n", password_hash="x", role=Role.CANVASSER)
    session.add(user)
    session.commit()
    assert _visible(session, user) == set()
    assert scope.community_ids(user, session=session) == frozenset()
