using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AgentApi.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class AddSchedules : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "schedules",
                columns: table => new
                {
                    id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    cron = table.Column<string>(type: "TEXT", maxLength: 256, nullable: true),
                    at = table.Column<long>(type: "INTEGER", nullable: true),
                    time_zone = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    task_json = table.Column<string>(type: "TEXT", nullable: false),
                    enabled = table.Column<bool>(type: "INTEGER", nullable: false),
                    overlap = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    catch_up = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    webhook_url = table.Column<string>(type: "TEXT", maxLength: 2048, nullable: true),
                    hangfire_job_id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    settled_until = table.Column<long>(type: "INTEGER", nullable: false),
                    created_at = table.Column<long>(type: "INTEGER", nullable: false),
                    updated_at = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_schedules", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "schedule_runs",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "TEXT", nullable: false),
                    schedule_id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    scheduled_at = table.Column<long>(type: "INTEGER", nullable: false),
                    trigger = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    outcome = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    task_id = table.Column<Guid>(type: "TEXT", nullable: true),
                    started_at = table.Column<long>(type: "INTEGER", nullable: true),
                    hangfire_job_id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    recorded_at = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_schedule_runs", x => x.id);
                    table.ForeignKey(
                        name: "fk_schedule_runs_schedules_schedule_id",
                        column: x => x.schedule_id,
                        principalTable: "schedules",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_schedule_runs_hangfire_job_id",
                table: "schedule_runs",
                column: "hangfire_job_id",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_schedule_runs_schedule_id_scheduled_at",
                table: "schedule_runs",
                columns: new[] { "schedule_id", "scheduled_at" });

            migrationBuilder.CreateIndex(
                name: "ix_schedule_runs_task_id",
                table: "schedule_runs",
                column: "task_id");

            migrationBuilder.CreateIndex(
                name: "ux_schedule_runs_slot",
                table: "schedule_runs",
                columns: new[] { "schedule_id", "scheduled_at" },
                unique: true,
                filter: "\"trigger\" <> 'manual'");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "schedule_runs");

            migrationBuilder.DropTable(
                name: "schedules");
        }
    }
}
