# The jumpbox control plane: state bucket, image repository, the build and
# clean functions (one container image), roles, the sweep schedule.  Deployed
# once per account and region by an operator (README.md): a first apply
# without image_digest makes everything but the functions, then the image is
# pushed, then an apply with its digest makes the functions.

data "aws_partition" "current" {}

locals {
  p          = data.aws_partition.current.partition
  acct       = var.account_id
  region     = var.region
  bucket     = var.state_bucket_name != "" ? var.state_bucket_name : "${var.name_prefix}-state-${var.account_id}-${var.region}"
  build      = "${var.name_prefix}-build"
  clean      = "${var.name_prefix}-clean"
  box        = "${var.name_prefix}-box"
  arn_fn     = "arn:${local.p}:lambda:${local.region}:${local.acct}:function"
  build_arn  = "${local.arn_fn}:${local.build}"
  clean_arn  = "${local.arn_fn}:${local.clean}"
  bucket_arn = "arn:${local.p}:s3:::${local.bucket}"
  state_url  = "s3://${local.bucket}/${var.state_prefix}"
  # The box's instance profile: what the clean role may terminate and the
  # reaper takes (ec2:InstanceProfile in iam.tf, JUMPBOX_BOX_INSTANCE_PROFILE).
  box_profile_arn = "arn:${local.p}:iam::${local.acct}:instance-profile/${local.box}"
  # Spelt out rather than aws_iam_role.box.arn so that the bucket policy is
  # known at plan time (the role has the default path "/").
  box_role_arn = "arn:${local.p}:iam::${local.acct}:role/${local.box}"
  # The same for the build role, the one function that writes deadlines.
  build_role_arn = "arn:${local.p}:iam::${local.acct}:role/${local.build}"
}

# ---- State bucket -----------------------------------------------------------

resource "aws_s3_bucket" "state" {
  bucket = local.bucket
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
    bucket_key_enabled = true
  }
}

# Old versions of leases and states go after noncurrent_version_days.  The
# audit records (<state_prefix>/audit/) and what the boxes published
# (<state_prefix>/boxes/: host keys, token hashes, sshd logs), each written
# once and never replaced, so no version of theirs is noncurrent before it
# expires, go after audit_retention_days, and the boxes' deadline objects
# (<state_prefix>/deadlines/) a day after their last write: no other rule
# expires a current object, and no function deletes a record.
resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    id     = "expire-old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
  rule {
    id     = "expire-audit-records"
    status = "Enabled"
    filter {
      prefix = "${var.state_prefix}/audit/"
    }
    expiration {
      days = var.audit_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }
  rule {
    id     = "expire-box-records"
    status = "Enabled"
    filter {
      prefix = "${var.state_prefix}/boxes/"
    }
    expiration {
      days = var.audit_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }
  # A box's deadline object is rewritten at every keep-alive (each write a
  # new version, noncurrent a day later) and removed at destroy, best effort.
  # What a failed delete leaves goes a day after its last write: no box
  # lives longer than a day after its object was last written (the box caps
  # its life at max_ttl_seconds, at most 24 h, from its boot, which comes
  # before the first write), and a box that no longer finds its object keeps
  # the deadlines it has armed.
  rule {
    id     = "expire-deadlines"
    status = "Enabled"
    filter {
      prefix = "${var.state_prefix}/deadlines/"
    }
    expiration {
      days = 1
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }
  depends_on = [aws_s3_bucket_versioning.state]
}

data "aws_iam_policy_document" "state_bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [local.bucket_arn, "${local.bucket_arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
  # A box's host key (boxes/ROLEID:INSTANCEID/host_key.pub) is what the
  # provisioner pins, and its token hash what the clean function accepts, so
  # nobody but the box may write there.  The box role writes only its own
  # session's prefix, once (iam.tf); but the functions' roles and the account's
  # admins may write the state prefix broadly, so their identity policies
  # alone would let them plant a key before the box writes its own.  For an
  # assumed-role session aws:PrincipalArn is the role's ARN; a principal
  # without one (a service) is denied too.
  statement {
    sid       = "OnlyTheBoxWritesBoxRecords"
    effect    = "Deny"
    actions   = ["s3:PutObject", "s3:PutObjectAcl", "s3:PutObjectVersionAcl", "s3:ReplicateObject"]
    resources = ["${local.bucket_arn}/${var.state_prefix}/boxes/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "ArnNotEquals"
      variable = "aws:PrincipalArn"
      values   = [local.box_role_arn]
    }
  }
  # A box's deadline object (deadlines/ROLEID:INSTANCEID.json) moves its
  # teardown: whoever writes it keeps a box alive up to its cap.  Only the
  # provisioner may, as the build function's role or as one of the CLI's
  # principals the operator names (deadline_writer_arns); the box role reads
  # its own and writes none, the clean role only removes one at destroy.
  statement {
    sid       = "OnlyProvisionersWriteDeadlines"
    effect    = "Deny"
    actions   = ["s3:PutObject", "s3:PutObjectAcl", "s3:PutObjectVersionAcl", "s3:ReplicateObject"]
    resources = ["${local.bucket_arn}/${var.state_prefix}/deadlines/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "ArnNotEquals"
      variable = "aws:PrincipalArn"
      values   = concat([local.build_role_arn], var.deadline_writer_arns)
    }
  }
}

resource "aws_s3_bucket_policy" "state" {
  bucket     = aws_s3_bucket.state.id
  policy     = data.aws_iam_policy_document.state_bucket.json
  depends_on = [aws_s3_bucket_public_access_block.state]
}

# ---- Image repository -------------------------------------------------------

# One image, both functions (`make image`, `make push`).  Tags never move:
# each function is pinned to an image by digest anyway, and an immutable tag
# keeps what a tag once meant.
resource "aws_ecr_repository" "image" {
  name                 = var.name_prefix
  image_tag_mutability = "IMMUTABLE"
  force_delete         = false
  image_scanning_configuration {
    scan_on_push = true
  }
  encryption_configuration {
    encryption_type = "AES256"
  }
}

resource "aws_ecr_lifecycle_policy" "image" {
  repository = aws_ecr_repository.image.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Untagged images (a tag was never pushed) go after a day"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = 1
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the newest ${var.image_keep_count} images"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.image_keep_count
        }
        action = { type = "expire" }
      },
    ]
  })
}

# Lambda pulls the image for these two functions only.
data "aws_iam_policy_document" "image_pull" {
  statement {
    sid     = "LambdaPull"
    actions = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.build_arn, local.clean_arn]
    }
  }
}

resource "aws_ecr_repository_policy" "image" {
  repository = aws_ecr_repository.image.name
  policy     = data.aws_iam_policy_document.image_pull.json
}

# ---- Functions --------------------------------------------------------------

locals {
  function_env = merge({
    JUMPBOX_MODULE        = "aws"
    JUMPBOX_STATE         = local.state_url
    JUMPBOX_MAX_TTL       = var.max_ttl
    JUMPBOX_ALLOWED_CIDRS = join(",", var.allowed_cidrs)
    JUMPBOX_WORK_DIR      = "/tmp/jumpbox"
    # The reaper takes only instances that run with the box's profile: tags
    # alone are anyone's with ec2:CreateTags (lib/stack/reap.h).
    JUMPBOX_BOX_INSTANCE_PROFILE = local.box_profile_arn
    },
    var.module_vars_file != "" ? { JUMPBOX_MODULE_VARS = var.module_vars_file } : {},
    # Unset unless given: the function then bounds no request's permit_open.
    length(var.allowed_targets) > 0 ? { JUMPBOX_ALLOWED_TARGETS = join(",", var.allowed_targets) } : {},
  )
  # Terraform, the provider mirror and the CLI config come from the image's
  # own Env (JUMPBOX_TERRAFORM, JUMPBOX_TF_PLUGIN_DIR, TF_CLI_CONFIG_FILE);
  # the entry point picks the program.
  functions = {
    build = { name = local.build, role = aws_iam_role.build.arn, entry = "/var/task/bin/provisioner" }
    clean = { name = local.clean, role = aws_iam_role.clean.arn, entry = "/var/task/bin/cleaner" }
  }
  deployed = var.image_digest != "" ? local.functions : {}
  # The repository's URL, spelt out so that a plan shows the whole pin.
  image_uri = "${local.acct}.dkr.ecr.${local.region}.${data.aws_partition.current.dns_suffix}/${aws_ecr_repository.image.name}@${var.image_digest}"
}

resource "aws_cloudwatch_log_group" "fn" {
  for_each          = local.functions
  name              = "/aws/lambda/${each.value.name}"
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_function" "fn" {
  for_each      = local.deployed
  function_name = each.value.name
  description   = "jumpbox ${each.key}"
  role          = each.value.role
  package_type  = "Image"
  image_uri     = local.image_uri
  image_config {
    entry_point       = [each.value.entry]
    working_directory = "/var/task"
  }
  architectures = [var.architecture]
  memory_size   = var.function_memory_mb
  timeout       = 900
  ephemeral_storage {
    size = var.function_ephemeral_mb
  }
  # The build function finds a box's records under boxes/ROLEID:INSTANCEID/.
  # AWS assigns the role's unique id, so a plan shows the build function's
  # whole environment as known after apply.
  environment {
    variables = merge(local.function_env, each.key == "build" ? {
      JUMPBOX_BOX_ROLE_ID = aws_iam_role.box.unique_id
    } : {})
  }
  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.fn[each.key].name
  }
  depends_on = [aws_ecr_repository_policy.image]
}

# A teardown request from a box, or a sweep, must not run twice at once for
# the same stack; Lambda retries a failed asynchronous call twice by itself.
resource "aws_lambda_function_event_invoke_config" "clean" {
  count                        = var.image_digest != "" ? 1 : 0
  function_name                = aws_lambda_function.fn["clean"].function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 3600
}

# ---- Sweep schedule ---------------------------------------------------------

resource "aws_scheduler_schedule" "sweep" {
  count               = var.image_digest != "" ? 1 : 0
  name                = "${var.name_prefix}-sweep"
  description         = "Destroy every expired jumpbox lease"
  schedule_expression = var.sweep_schedule
  flexible_time_window {
    mode = "OFF"
  }
  target {
    arn      = aws_lambda_function.fn["clean"].arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({ action = "sweep" })
    retry_policy {
      maximum_retry_attempts = 0
    }
  }
}
