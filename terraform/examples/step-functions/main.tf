# A state machine that runs an on-prem backup through a jump box: it puts a
# task token and the job on a queue (sqs:sendMessage.waitForTaskToken) and
# waits.  The backup VM long-polls the queue, deletes the message and runs
# `provisioner run --task-token TOKEN --heartbeat 60s -- JOB`, which
# heartbeats while the job runs and ends the task with SendTaskSuccess or
# SendTaskFailure.  A VM that dies stops heartbeating: the task fails with
# States.HeartbeatTimeout and is retried (a new message, a new token).

data "aws_partition" "current" {}

locals {
  p         = data.aws_partition.current.partition
  queue_url = aws_sqs_queue.jobs.url
  queue_arn = aws_sqs_queue.jobs.arn
  definition = {
    Comment = "On-prem backup through a jumpbox; the backup VM reports with the task token."
    StartAt = "Backup"
    States = {
      Backup = {
        Type     = "Task"
        Resource = "arn:${local.p}:states:::sqs:sendMessage.waitForTaskToken"
        Parameters = {
          QueueUrl = local.queue_url
          MessageBody = {
            "TaskToken.$"   = "$$.Task.Token"
            "ExecutionId.$" = "$$.Execution.Id"
            "Job.$"         = "$"
          }
        }
        HeartbeatSeconds = var.heartbeat_seconds
        TimeoutSeconds   = var.timeout_seconds
        ResultPath       = "$.result"
        Retry = [{
          ErrorEquals     = ["States.HeartbeatTimeout"]
          MaxAttempts     = 1
          IntervalSeconds = 60
        }]
        Catch = [{
          ErrorEquals = ["States.ALL"]
          ResultPath  = "$.error"
          Next        = "BackupFailed"
        }]
        Next = "BackupDone"
      }
      BackupFailed = {
        Type      = "Fail"
        ErrorPath = "$.error.Error"
        CausePath = "$.error.Cause"
      }
      BackupDone = {
        Type = "Succeed"
      }
    }
  }
}

# The messages carry task tokens: encrypted at rest, kept no longer than a
# token is useful, never redelivered to a second poller while one works.
resource "aws_sqs_queue" "jobs" {
  name                       = var.name
  sqs_managed_sse_enabled    = true
  message_retention_seconds  = var.heartbeat_seconds * 4 > 60 ? var.heartbeat_seconds * 4 : 60
  visibility_timeout_seconds = 60
  receive_wait_time_seconds  = 20
}

data "aws_iam_policy_document" "states_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "states" {
  statement {
    sid       = "HandTheJobToTheBackupVM"
    actions   = ["sqs:SendMessage"]
    resources = [local.queue_arn]
  }
}

resource "aws_iam_role" "states" {
  name               = "${var.name}-states"
  assume_role_policy = data.aws_iam_policy_document.states_trust.json
}

resource "aws_iam_role_policy" "states" {
  name   = "send-job"
  role   = aws_iam_role.states.id
  policy = data.aws_iam_policy_document.states.json
}

resource "aws_sfn_state_machine" "backup" {
  name       = var.name
  role_arn   = aws_iam_role.states.arn
  definition = jsonencode(local.definition)
}

# ---- the backup VM: take jobs off the queue ----------------------------------

data "aws_iam_policy_document" "backup_vm" {
  statement {
    sid       = "TakeJobs"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage"]
    resources = [local.queue_arn]
  }
}

resource "aws_iam_role_policy" "backup_vm" {
  count  = var.backup_vm_role_name != "" ? 1 : 0
  name   = "${var.name}-take-jobs"
  role   = var.backup_vm_role_name
  policy = data.aws_iam_policy_document.backup_vm.json
}

# ---- the schedule -----------------------------------------------------------

data "aws_iam_policy_document" "scheduler_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.backup.arn]
  }
}

resource "aws_iam_role" "scheduler" {
  count              = var.schedule != "" ? 1 : 0
  name               = "${var.name}-schedule"
  assume_role_policy = data.aws_iam_policy_document.scheduler_trust.json
}

resource "aws_iam_role_policy" "scheduler" {
  count  = var.schedule != "" ? 1 : 0
  name   = "start-backup"
  role   = aws_iam_role.scheduler[0].id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "backup" {
  count               = var.schedule != "" ? 1 : 0
  name                = var.name
  schedule_expression = var.schedule
  flexible_time_window {
    mode = "OFF"
  }
  target {
    arn      = aws_sfn_state_machine.backup.arn
    role_arn = aws_iam_role.scheduler[0].arn
    input    = jsonencode(var.job)
  }
}
