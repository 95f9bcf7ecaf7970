# Least privilege.  Every Allow names its actions; resources are ARNs, scoped
# further by the jumpbox:stack tag or by request conditions.  A tag is
# anyone's to write who has ec2:CreateTags, so what changes or ends an
# instance also needs the box's instance profile (ec2:InstanceProfile: only
# the build role may pass the box role) and this deployment's jumpbox:state.  The one bare "*"
# resource is the EC2 Describe* statement: those actions support no
# resource-level permissions (Service Authorization Reference, Amazon EC2).

locals {
  ec2        = "arn:${local.p}:ec2:${local.region}:${local.acct}"
  stack_tag  = "jumpbox:stack"
  state_objs = "${local.bucket_arn}/${var.state_prefix}/*"
  audit_objs = "${local.bucket_arn}/${var.state_prefix}/audit/*"
  box_objs   = "${local.bucket_arn}/${var.state_prefix}/boxes/*"
  state_tag  = "jumpbox:state"
  # The box's current deadlines, one object per box, named like its records:
  # deadlines/ROLEID:INSTANCEID.json (aws:userid of its session).
  deadline_objs = "${local.bucket_arn}/${var.state_prefix}/deadlines/*"
  fn_logs = {
    for k, f in local.functions :
    k => "arn:${local.p}:logs:${local.region}:${local.acct}:log-group:/aws/lambda/${f.name}:*"
  }
  ec2_describe = [
    "ec2:DescribeImages",
    "ec2:DescribeInstanceAttribute",
    "ec2:DescribeInstanceCreditSpecifications",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeInstances",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeTags",
    "ec2:DescribeVolumes",
    "ec2:DescribeVpcAttribute",
    "ec2:DescribeVpcs",
  ]
}

data "aws_iam_policy_document" "lambda_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

# What both functions need: logs, the state, reading what a stack made,
# tearing a stack down (a create that fails half way is rolled back by the
# build function itself).  The clean function's reaper (lib/stack/reap.c) needs no
# more: DescribeInstances/DescribeSecurityGroups from Ec2Read,
# TerminateInstances from TerminateBoxInstances and DeleteSecurityGroup from
# TearDownStateGroups, so it too can take down only the boxes of this state.
data "aws_iam_policy_document" "common" {
  for_each = local.functions

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [local.fn_logs[each.key]]
  }
  statement {
    sid       = "StateList"
    actions   = ["s3:ListBucket", "s3:ListBucketVersions"]
    resources = [local.bucket_arn]
  }
  statement {
    sid       = "StateObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [local.state_objs]
  }
  # Purging a stack's prefix removes every version of its objects: the clean
  # function after a destroy, the build function after a rolled-back create.
  statement {
    sid       = "PurgeStateVersions"
    actions   = ["s3:DeleteObjectVersion"]
    resources = [local.state_objs]
  }
  statement {
    sid       = "Ec2Read"
    actions   = local.ec2_describe
    resources = ["*"]
  }
  # The official AMIs' public parameters terraform/aws reads (ami_os): Amazon
  # Linux's and Debian 13's releases (latest and dated), nothing else of
  # /aws/service. A public parameter's ARN has an empty account field; "*"
  # matches it as well as the caller's account, whichever IAM evaluates the
  # request under.
  statement {
    sid     = "AmiParameter"
    actions = ["ssm:GetParameter", "ssm:GetParameters"]
    resources = [
      "arn:${local.p}:ssm:${local.region}:*:parameter/aws/service/ami-amazon-linux-latest/*",
      "arn:${local.p}:ssm:${local.region}:*:parameter/aws/service/debian/release/13/*",
    ]
  }
  # The provider sets instanceInitiatedShutdownBehavior right after
  # RunInstances and clears disableApiTermination before TerminateInstances.
  # Instances only: a request that also names security groups (Groups) is
  # authorized on them too, and that stays denied.
  statement {
    sid       = "ModifyBoxInstances"
    actions   = ["ec2:ModifyInstanceAttribute"]
    resources = ["${local.ec2}:instance/*"]
    condition {
      test     = "Null"
      variable = "aws:ResourceTag/${local.stack_tag}"
      values   = ["false"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${local.state_tag}"
      values   = [local.state_url]
    }
    condition {
      test     = "ArnEquals"
      variable = "ec2:InstanceProfile"
      values   = [local.box_profile_arn]
    }
  }
  statement {
    sid       = "TerminateBoxInstances"
    actions   = ["ec2:TerminateInstances"]
    resources = ["${local.ec2}:instance/*"]
    condition {
      test     = "Null"
      variable = "aws:ResourceTag/${local.stack_tag}"
      values   = ["false"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${local.state_tag}"
      values   = [local.state_url]
    }
    condition {
      test     = "ArnEquals"
      variable = "ec2:InstanceProfile"
      values   = [local.box_profile_arn]
    }
  }
  # A group has no profile; the reaper also insists on its name
  # (jumpbox-STACK, fixed when the group is made), and one in use cannot be
  # deleted.
  statement {
    sid = "TearDownStateGroups"
    actions = [
      "ec2:DeleteSecurityGroup",
      "ec2:RevokeSecurityGroupIngress",
      "ec2:RevokeSecurityGroupEgress",
    ]
    resources = ["${local.ec2}:security-group/*"]
    condition {
      test     = "Null"
      variable = "aws:ResourceTag/${local.stack_tag}"
      values   = ["false"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${local.state_tag}"
      values   = [local.state_url]
    }
  }
  # The audit records outlive their stacks: no function removes one (the
  # lifecycle rule expires them) or writes over one (S3 keeps the old
  # version, but as noncurrent, which the same rule expires in a day).
  # Purges take <prefix>/<stack>/, never <prefix>/audit/.
  statement {
    sid       = "AuditRecordsStay"
    effect    = "Deny"
    actions   = ["s3:DeleteObject", "s3:DeleteObjectVersion"]
    resources = [local.audit_objs]
  }
  statement {
    sid       = "AuditRecordsWriteOnce"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = [local.audit_objs]
    condition {
      test     = "StringNotEquals"
      variable = "s3:if-none-match"
      values   = ["*"]
    }
  }
  # What a box publishes under boxes/ROLEID:INSTANCEID/ (its host key, its
  # teardown token's hash, its sshd log) is what the provisioner pins and
  # the clean function trusts: the functions read it, never write or remove
  # it (the lifecycle rule does).  Their Allow on the whole state prefix
  # would otherwise let a function -- or whoever runs as one -- plant a host
  # key; the bucket policy denies the same to every principal but the box.
  statement {
    sid       = "BoxRecordsAreTheBoxes"
    effect    = "Deny"
    actions   = ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"]
    resources = [local.box_objs]
  }
}

# ---- build ------------------------------------------------------------------

data "aws_iam_policy_document" "build" {
  source_policy_documents = [data.aws_iam_policy_document.common["build"].json]

  # New instances: tagged, IMDSv2 only, hop limit 1, small, from Amazon's AMIs.
  statement {
    sid       = "RunTaggedInstance"
    actions   = ["ec2:RunInstances"]
    resources = ["${local.ec2}:instance/*"]
    condition {
      test     = "Null"
      variable = "aws:RequestTag/${local.stack_tag}"
      values   = ["false"]
    }
    condition {
      test     = "StringEquals"
      variable = "ec2:MetadataHttpTokens"
      values   = ["required"]
    }
    condition {
      test     = "NumericLessThanEquals"
      variable = "ec2:MetadataHttpPutResponseHopLimit"
      values   = ["1"]
    }
    condition {
      test     = "StringEquals"
      variable = "ec2:InstanceType"
      values   = var.box_instance_types
    }
  }
  statement {
    sid       = "RunEncryptedTaggedVolume"
    actions   = ["ec2:RunInstances"]
    resources = ["${local.ec2}:volume/*"]
    condition {
      test     = "Null"
      variable = "aws:RequestTag/${local.stack_tag}"
      values   = ["false"]
    }
    condition {
      test     = "Bool"
      variable = "ec2:Encrypted"
      values   = ["true"]
    }
  }
  statement {
    sid       = "RunFromOwnersImage"
    actions   = ["ec2:RunInstances"]
    resources = ["arn:${local.p}:ec2:${local.region}::image/*"]
    condition {
      test     = "StringEquals"
      variable = "ec2:Owner"
      values   = var.ami_owners
    }
  }
  statement {
    sid       = "RunInJumpboxSecurityGroup"
    actions   = ["ec2:RunInstances"]
    resources = ["${local.ec2}:security-group/*"]
    condition {
      test     = "Null"
      variable = "aws:ResourceTag/${local.stack_tag}"
      values   = ["false"]
    }
  }
  statement {
    sid       = "RunNetwork"
    actions   = ["ec2:RunInstances"]
    resources = ["${local.ec2}:subnet/*", "${local.ec2}:network-interface/*"]
  }
  statement {
    sid       = "CreateTaggedSecurityGroup"
    actions   = ["ec2:CreateSecurityGroup"]
    resources = ["${local.ec2}:security-group/*"]
    condition {
      test     = "Null"
      variable = "aws:RequestTag/${local.stack_tag}"
      values   = ["false"]
    }
  }
  statement {
    sid       = "CreateSecurityGroupInVpc"
    actions   = ["ec2:CreateSecurityGroup"]
    resources = ["${local.ec2}:vpc/*"]
  }
  statement {
    sid       = "RulesOnTaggedSecurityGroups"
    actions   = ["ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress"]
    resources = ["${local.ec2}:security-group/*"]
    condition {
      test     = "Null"
      variable = "aws:ResourceTag/${local.stack_tag}"
      values   = ["false"]
    }
  }
  statement {
    sid       = "TaggedRules"
    actions   = ["ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress"]
    resources = ["${local.ec2}:security-group-rule/*"]
    condition {
      test     = "Null"
      variable = "aws:RequestTag/${local.stack_tag}"
      values   = ["false"]
    }
  }
  # Tags only as part of creating something: never on what exists.
  statement {
    sid     = "TagOnCreate"
    actions = ["ec2:CreateTags"]
    resources = [
      "${local.ec2}:instance/*",
      "${local.ec2}:volume/*",
      "${local.ec2}:security-group/*",
      "${local.ec2}:security-group-rule/*",
    ]
    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values = [
        "RunInstances",
        "CreateSecurityGroup",
        "AuthorizeSecurityGroupIngress",
        "AuthorizeSecurityGroupEgress",
      ]
    }
  }
  statement {
    sid       = "PassBoxRole"
    actions   = ["iam:PassRole"]
    resources = [local.box_role_arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "build" {
  name               = local.build
  assume_role_policy = data.aws_iam_policy_document.lambda_trust.json
}

resource "aws_iam_role_policy" "build" {
  name   = local.build
  role   = aws_iam_role.build.id
  policy = data.aws_iam_policy_document.build.json
}

# ---- clean ------------------------------------------------------------------

data "aws_iam_policy_document" "clean" {
  source_policy_documents = [data.aws_iam_policy_document.common["clean"].json]

  # A box's deadline object says how long it may live; the provisioner (the
  # build function or the CLI) writes it at create, extend and every
  # keep-alive.  The clean function only removes one at destroy: it must not
  # be able to move a box's deadline.  The bucket policy denies the same to
  # every principal but the build role and deadline_writer_arns.
  statement {
    sid       = "DeadlinesAreTheProvisioners"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = [local.deadline_objs]
  }
}

resource "aws_iam_role" "clean" {
  name               = local.clean
  assume_role_policy = data.aws_iam_policy_document.lambda_trust.json
}

resource "aws_iam_role_policy" "clean" {
  name   = local.clean
  role   = aws_iam_role.clean.id
  policy = data.aws_iam_policy_document.clean.json
}

# ---- the jump box: asks for its own teardown, publishes its records, reads
# its deadlines --------------------------------------------------------------

data "aws_iam_policy_document" "box_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "box" {
  statement {
    sid       = "InvokeClean"
    actions   = ["lambda:InvokeFunction"]
    resources = [local.clean_arn]
  }
  # Its host key, its teardown token's hash and, at shutdown, its sshd log,
  # each written once under its own boxes/ROLEID:INSTANCEID/: for an
  # instance-profile session aws:userid is the role's unique id and the
  # instance id, which the box cannot choose, so one role serves every box
  # and no box writes another's objects.  If-None-Match: * makes each object
  # write-once; no read, no delete, nothing else of the state but its
  # deadline object (below).  "$$" keeps the policy variable from
  # Terraform's interpolation.
  statement {
    sid       = "PublishOwnRecordsOnce"
    actions   = ["s3:PutObject"]
    resources = ["${local.bucket_arn}/${var.state_prefix}/boxes/$${aws:userid}/*"]
    condition {
      test     = "StringEquals"
      variable = "s3:if-none-match"
      values   = ["*"]
    }
  }
  # Its current deadlines (expires_at, alive_until), which it polls to re-arm
  # its teardown timer: its own object only, by the same aws:userid, read
  # only.  Without s3:ListBucket a missing object answers 403, not 404.
  statement {
    sid       = "ReadOwnDeadline"
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arn}/${var.state_prefix}/deadlines/$${aws:userid}.json"]
  }
}

resource "aws_iam_role" "box" {
  name               = local.box
  assume_role_policy = data.aws_iam_policy_document.box_trust.json
}

resource "aws_iam_role_policy" "box" {
  name   = local.box
  role   = aws_iam_role.box.id
  policy = data.aws_iam_policy_document.box.json
}

resource "aws_iam_instance_profile" "box" {
  name = local.box
  role = aws_iam_role.box.name
}

# ---- the sweep schedule -----------------------------------------------------

data "aws_iam_policy_document" "scheduler_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.acct]
    }
  }
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "InvokeCleanForSweep"
    actions   = ["lambda:InvokeFunction"]
    resources = [local.clean_arn]
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${var.name_prefix}-sweep"
  assume_role_policy = data.aws_iam_policy_document.scheduler_trust.json
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "${var.name_prefix}-sweep"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

# ---- the backup VM: may ask for a box and for its teardown, nothing else ----

data "aws_iam_policy_document" "backup_vm" {
  statement {
    sid       = "InvokeBuildAndClean"
    actions   = ["lambda:InvokeFunction"]
    resources = [local.build_arn, local.clean_arn]
  }

  # `provisioner run --task-token`: report the job to the state machines
  # that hand it a token.  The Service Authorization Reference gives
  # SendTaskSuccess/Failure/Heartbeat no resource type and no condition key
  # of their own, so the resource can only be "*": the strongest scope IAM
  # offers is the state machines' regions (aws:RequestedRegion); the token
  # itself is what ties a call to one waiting task.
  dynamic "statement" {
    for_each = length(var.step_functions_state_machine_arns) > 0 ? [1] : []
    content {
      sid       = "ReportStepFunctionsTask"
      actions   = ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"]
      resources = ["*"]
      condition {
        test     = "StringEquals"
        variable = "aws:RequestedRegion"
        values   = local.sfn_regions
      }
    }
  }
}

locals {
  sfn_regions = distinct([for a in var.step_functions_state_machine_arns : split(":", a)[3]])
}

resource "aws_iam_policy" "backup_vm" {
  name        = "${var.name_prefix}-backup-vm"
  description = "For the backup VM's identity: invoke the jumpbox build and clean functions${length(var.step_functions_state_machine_arns) > 0 ? ", report Step Functions tasks" : ""}."
  policy      = data.aws_iam_policy_document.backup_vm.json
}

resource "aws_iam_role_policy_attachment" "backup_vm" {
  count      = var.backup_vm_role_name != "" ? 1 : 0
  role       = var.backup_vm_role_name
  policy_arn = aws_iam_policy.backup_vm.arn
}
