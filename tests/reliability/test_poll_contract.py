"""A project whose stored config stopped validating (the rules changed after it was written): the
poller reports it, never calls GitHub for it, and never raises, even when the store fails too."""

from __future__ import annotations

from reliability.world import HEALTHY, REPOS, SUBJECT, World, dynamodb_rule


def break_stored_config(world: World) -> None:
    """Enabled intake with no label and no assignee: refused today, as if written under older rules."""
    world.observer.client.update_item(
        TableName=world.aws["table_name"],
        Key={"pk": {"S": f"PROJECT#{SUBJECT}"}, "sk": {"S": "PROJECT"}},
        UpdateExpression="SET #config.trackerIntake.labels = :none",
        ExpressionAttributeNames={"#config": "config"},
        ExpressionAttributeValues={":none": {"L": []}},
    )


def test_a_stored_config_that_stopped_validating_is_reported_and_not_polled(world: World) -> None:
    # GIVEN the subject's stored config no longer validates; the healthy project is fine
    world.seed()
    break_stored_config(world)
    # WHEN a tick runs
    world.step("tick")
    # THEN the subject's poll says config_invalid and records it, without asking GitHub ...
    (result,) = world.results_for(SUBJECT)
    assert result["result"] == "config_invalid"
    assert (world.observer.get_project(SUBJECT).poll.last_error or "").startswith("config_invalid: ")
    assert world.requests_in("tick", SUBJECT) == []
    # ... and the healthy project got its sessions in the same tick
    assert {i for i in world.enqueued_in("tick") if REPOS[HEALTHY] in i} == {
        f"github:{REPOS[HEALTHY]}#1",
        f"github:{REPOS[HEALTHY]}#2",
    }


def test_a_store_failure_while_recording_a_config_error_does_not_escape_the_poller(world: World) -> None:
    # GIVEN a subject whose stored config no longer validates, and a store that fails the write
    world.seed()
    break_stored_config(world)
    world.dynamodb_faults.arm(dynamodb_rule("save_poll_state"))
    # WHEN a tick runs
    world.step("tick")
    # THEN the poller answered config_invalid instead of raising, and the write was attempted
    (result,) = world.results_for(SUBJECT)
    assert result["result"] == "config_invalid"
    assert world.unexpected == []
    assert world.dynamodb_faults.fired == 1
